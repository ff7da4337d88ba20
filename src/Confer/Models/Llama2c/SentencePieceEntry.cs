namespace Confer.Models.Llama2c;

/// <summary>The kinds of SentencePiece pieces (values of <c>ModelProto.SentencePiece.Type</c>).</summary>
internal enum SentencePieceType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>One SentencePiece vocabulary entry: the piece ('▁' marks a space), its merge score and its type.</summary>
internal sealed record SentencePieceEntry(string Piece, float Score, SentencePieceType Type);
