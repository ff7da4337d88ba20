using Google.Protobuf;

namespace Confer.Models.Llama2c;

/// <summary>
/// Encodes a SentencePiece BPE <c>ModelProto</c> (the <c>tokenizer.model</c> file) by hand with protobuf's
/// <see cref="CodedOutputStream"/>, using the field numbers of <c>sentencepiece_model.proto</c>. Settings match
/// Llama 2's tokenizer: BPE, byte fallback, unk/bos/eos = 0/1/2, no pad, identity normalisation with a dummy
/// prefix, whitespace escaped to '▁' and not collapsed.
/// </summary>
internal static class SentencePieceModelWriter
{
    public const char WhitespaceMarker = '\u2581';

    // ModelProto
    private const int PiecesField = 1, TrainerSpecField = 2, NormalizerSpecField = 3;

    // ModelProto.SentencePiece
    private const int PieceField = 1, ScoreField = 2, TypeField = 3;

    // TrainerSpec
    private const int ModelTypeField = 3, VocabSizeField = 4, ByteFallbackField = 35;
    private const int UnkIdField = 40, BosIdField = 41, EosIdField = 42, PadIdField = 43;
    private const int UnkPieceField = 45, BosPieceField = 46, EosPieceField = 47;
    private const int ModelTypeBpe = 2;

    // NormalizerSpec
    private const int NameField = 1, AddDummyPrefixField = 3, RemoveExtraWhitespacesField = 4, EscapeWhitespacesField = 5;

    public static byte[] Build(IReadOnlyList<SentencePieceEntry> pieces) => Message(o =>
    {
        foreach (var p in pieces)
        {
            WriteMessage(o, PiecesField, m =>
            {
                m.WriteTag(PieceField, WireFormat.WireType.LengthDelimited);
                m.WriteString(p.Piece);
                m.WriteTag(ScoreField, WireFormat.WireType.Fixed32);
                m.WriteFloat(p.Score);
                m.WriteTag(TypeField, WireFormat.WireType.Varint);
                m.WriteEnum((int)p.Type);
            });
        }
        WriteMessage(o, TrainerSpecField, m =>
        {
            Int(m, ModelTypeField, ModelTypeBpe);
            Int(m, VocabSizeField, pieces.Count);
            Bool(m, ByteFallbackField, true);
            Int(m, UnkIdField, Llama2cVocabulary.UnkId);
            Int(m, BosIdField, Llama2cVocabulary.BosId);
            Int(m, EosIdField, Llama2cVocabulary.EosId);
            Int(m, PadIdField, -1);
            Text(m, UnkPieceField, pieces[Llama2cVocabulary.UnkId].Piece);
            Text(m, BosPieceField, pieces[Llama2cVocabulary.BosId].Piece);
            Text(m, EosPieceField, pieces[Llama2cVocabulary.EosId].Piece);
        });
        WriteMessage(o, NormalizerSpecField, m =>
        {
            Text(m, NameField, "identity");
            Bool(m, AddDummyPrefixField, true);
            Bool(m, RemoveExtraWhitespacesField, false); // llama2.c keeps repeated spaces
            Bool(m, EscapeWhitespacesField, true);
        });
    });

    private static void Int(CodedOutputStream m, int field, int value)
    {
        m.WriteTag(field, WireFormat.WireType.Varint);
        m.WriteInt32(value);
    }

    private static void Bool(CodedOutputStream m, int field, bool value)
    {
        m.WriteTag(field, WireFormat.WireType.Varint);
        m.WriteBool(value);
    }

    private static void Text(CodedOutputStream m, int field, string value)
    {
        m.WriteTag(field, WireFormat.WireType.LengthDelimited);
        m.WriteString(value);
    }

    private static void WriteMessage(CodedOutputStream o, int field, Action<CodedOutputStream> body)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(Message(body)));
    }

    private static byte[] Message(Action<CodedOutputStream> body)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true)) body(output);
        return buffer.ToArray();
    }
}
