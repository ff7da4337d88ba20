using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace Confer.Models.Llama2c;

/// <summary>
/// The vocabulary in a llama2.c <c>tokenizer.bin</c> (int32 max_token_length, then per token: float32 score,
/// int32 byte length, UTF-8 bytes), turned back into SentencePiece pieces: llama2.c's export replaced the
/// whitespace marker '▁' with ' ' and wrote BOS/EOS as "\n&lt;s&gt;\n" / "\n&lt;/s&gt;\n".
/// </summary>
internal sealed partial class Llama2cVocabulary
{
    public const int UnkId = 0;
    public const int BosId = 1;
    public const int EosId = 2;

    private Llama2cVocabulary(IReadOnlyList<SentencePieceEntry> pieces) => Pieces = pieces;

    /// <summary>Pieces in id order, with scores and SentencePiece types.</summary>
    public IReadOnlyList<SentencePieceEntry> Pieces { get; }

    public static Llama2cVocabulary Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"llama2.c tokenizer '{path}' does not exist.", path);
        byte[] data = File.ReadAllBytes(path);
        if (data.Length < 4) throw Invalid(path, "it is shorter than the 4-byte max_token_length header");
        int maxLength = BinaryPrimitives.ReadInt32LittleEndian(data);
        var pieces = new List<SentencePieceEntry>();
        for (int at = 4; at < data.Length;)
        {
            int id = pieces.Count;
            if (data.Length - at < 8) throw Invalid(path, $"token {id} is cut off (truncated file)");
            float score = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(at));
            int length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(at + 4));
            at += 8;
            if (length <= 0 || length > maxLength || length > data.Length - at)
                throw Invalid(path, $"token {id} has length {length} (max_token_length {maxLength}, {data.Length - at} bytes left)");
            string text = Encoding.UTF8.GetString(data, at, length);
            at += length;
            pieces.Add(ToPiece(id, text, score, path));
        }
        if (pieces.Count <= EosId) throw Invalid(path, $"it holds {pieces.Count} tokens, fewer than <unk>, <s>, </s>");
        return new Llama2cVocabulary(pieces);
    }

    private static SentencePieceEntry ToPiece(int id, string text, float score, string path)
    {
        (string expected, SentencePieceType type)? special = id switch
        {
            UnkId => ("<unk>", SentencePieceType.Unknown),
            BosId => ("<s>", SentencePieceType.Control),
            EosId => ("</s>", SentencePieceType.Control),
            _ => null,
        };
        if (special is { } s)
        {
            string piece = text.Trim('\n');
            return piece == s.expected
                ? new SentencePieceEntry(piece, score, s.type)
                : throw Invalid(path, $"token {id} is '{piece}', expected '{s.expected}' (llama2.c fixes unk=0, bos=1, eos=2)");
        }
        return BytePiece().IsMatch(text)
            ? new SentencePieceEntry(text, score, SentencePieceType.Byte)
            : new SentencePieceEntry(text.Replace(' ', SentencePieceModelWriter.WhitespaceMarker), score, SentencePieceType.Normal);
    }

    private static InvalidDataException Invalid(string path, string problem) =>
        new($"llama2.c tokenizer '{path}' is invalid: {problem}.");

    [GeneratedRegex("^<0x[0-9A-F]{2}>$")]
    private static partial Regex BytePiece();
}
