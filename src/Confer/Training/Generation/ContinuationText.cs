using Confer.Tokenizers;

namespace Confer.Training.Generation;

/// <summary>
/// The text generated tokens add after a prompt. Decoded alone they can read differently from how they read in place:
/// SentencePiece drops the space of a leading "▁" ("What is the" + "▁rem…" would print "What is theremovement"),
/// WordPiece has nothing to glue a leading "##" to, and byte-level BPE may split a character across the boundary. So
/// the continuation is decoded after the prompt's last tokens and that context's own text is cut off; a few tokens are
/// enough, because only the boundary changes.
/// </summary>
public sealed class ContinuationText(TextTokenizer tokenizer)
{
    /// <summary>Prompt tokens decoded ahead of a continuation.</summary>
    private const int ContextTokens = 16;

    public string Decode(IReadOnlyList<int> prompt, IReadOnlyList<int> generated)
    {
        if (generated.Count == 0) return "";
        var context = prompt.Skip(Math.Max(0, prompt.Count - ContextTokens)).ToList();
        var head = tokenizer.Decode(context);
        var full = tokenizer.Decode([.. context, .. generated]);
        // Decoders that tidy spaces around punctuation can rewrite the context itself; then the plain decode is the best guess.
        return full.StartsWith(head, StringComparison.Ordinal) ? full[head.Length..] : tokenizer.Decode(generated);
    }
}
