namespace Confer.Federation.Reporting;

/// <summary>
/// A <c>"kind":"baseline"</c> line. <c>local</c> lines (one per client) describe a model trained on that client's data
/// alone; the <c>centralized</c> line a model trained on all clients' data pooled. <see cref="Steps"/> is the optimiser
/// steps it took and <see cref="Compute"/> says what they were matched to (or that they were not); both are absent in
/// run folders written before they were recorded.
/// </summary>
internal sealed record BaselineEntry(string Name, string? Client, double? GlobalLoss, double? LocalLoss, int? Steps = null, string? Compute = null)
{
    public const string Local = "local";
    public const string Centralized = "centralized";

    /// <summary>Marks the <see cref="Compute"/> of a baseline whose steps were fixed by <c>baseline_steps</c>.</summary>
    public const string NotMatched = "NOT compute-matched";

    public bool IsMatched => Compute is not null && !Compute.StartsWith(NotMatched, StringComparison.Ordinal);
}
