namespace Confer.Federation;

/// <summary>What one <see cref="Strategy.AggregateTrain"/> did, for logs and the run record.</summary>
/// <param name="Round">1-based round number.</param>
/// <param name="ClientIds">Aggregated clients in aggregation order (ascending ordinal client id).</param>
/// <param name="Weights">p_k = n_k / Σ n over the updates received (capped, see <see cref="ClientWeights"/>).</param>
/// <param name="TotalExamples">Σ n_k over the updates received (each n_k is bounded by <see cref="ClientWeights.MaxExamples"/>).</param>
/// <param name="Metrics">
/// p_k-weighted means of the client metrics every update reported, plus strategy metrics under
/// <c>&lt;strategy&gt;/…</c> (e.g. <c>flora/stacked_rank</c>).
/// </param>
public sealed record RoundSummary(
    int Round,
    IReadOnlyList<string> ClientIds,
    IReadOnlyDictionary<string, double> Weights,
    long TotalExamples,
    IReadOnlyDictionary<string, double> Metrics);
