using Confer.Data;

namespace Confer.Training;

/// <summary>One scored QA item.</summary>
/// <param name="Record">The question and its gold answer.</param>
/// <param name="Generated">The model's raw output.</param>
/// <param name="Extracted">The normalised answer found in the output, or null when none was found.</param>
/// <param name="Correct">Whether <paramref name="Extracted"/> equals the normalised gold answer.</param>
public sealed record QaPrediction(QaRecord Record, string Generated, string? Extracted, bool Correct);
