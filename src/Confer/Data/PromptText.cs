namespace Confer.Data;

/// <summary>A record rendered through a template.</summary>
/// <param name="Prompt">What the model sees before it answers (ends at the response marker); the generation input.</param>
/// <param name="Full">Prompt followed by the reference output; the training text.</param>
public sealed record PromptText(string Prompt, string Full)
{
    /// <summary>
    /// The texts carry the model's own special tokens (a chat template writes BOS and end-of-turn markers), so the
    /// encoder adds neither BOS nor EOS; the end of the assistant's turn is what the model learns to stop at.
    /// </summary>
    public bool HasSpecialTokens { get; init; }
}
