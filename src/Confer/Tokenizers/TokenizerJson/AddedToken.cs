namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// An entry of <c>added_tokens</c>: matched in the text before any other step. <see cref="Special"/> tokens are the
/// ones decoding skips; <see cref="Normalized"/> ones are matched in normalised text, the others in the raw text;
/// <see cref="LStrip"/>/<see cref="RStrip"/> tokens swallow the whitespace on that side.
/// </summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool Normalized, bool LStrip, bool RStrip);
