namespace Confer.Data;

/// <summary>A record rendered through a template.</summary>
/// <param name="Prompt">What the model sees before it answers (ends at the response marker); the generation input.</param>
/// <param name="Full">Prompt followed by the reference output; the training text.</param>
public sealed record PromptText(string Prompt, string Full);
