namespace Confer.Tokenizers;

/// <summary>The ids of a tokenizer's special tokens; null where the tokenizer has no such token.</summary>
internal sealed record SpecialTokenIds(int? Bos, int? Eos, int? Pad, int? Unk, int? Cls = null, int? Sep = null, int? Mask = null);
