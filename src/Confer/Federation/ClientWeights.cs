namespace Confer.Federation;

/// <summary>
/// The aggregation weights p_k = n_k / Σ n of a round, where n_k is what each client reported. In a deployment those
/// counts are claims: one client claiming 2^40 examples would own the average. So counts are bounded
/// (<see cref="MaxExamples"/>, and the driver refuses counts above the run's <c>max_client_records</c>), summed in
/// floating point (no overflow), and, with a cap c, no weight exceeds c: clients above it are fixed at c and the rest
/// of the mass is shared in proportion to n_k among the others (water-filling), repeated until none exceeds c.
/// </summary>
public static class ClientWeights
{
    /// <summary>The largest count any client may report (2^40: far above any real local data set, far below overflow).</summary>
    public const long MaxExamples = 1L << 40;

    /// <param name="counts">n_k per client, each in [1, <see cref="MaxExamples"/>].</param>
    /// <param name="maxWeight">Cap c in (0, 1]; null = none. When K·c &lt; 1 no weighting can respect it, and all K weigh 1/K.</param>
    public static IReadOnlyList<double> Of(IReadOnlyList<long> counts, double? maxWeight)
    {
        if (counts.Count == 0) return [];
        foreach (var n in counts)
            if (n is < 1 or > MaxExamples) throw new ArgumentOutOfRangeException(nameof(counts), n, $"Example counts must be in [1, {MaxExamples}].");
        double total = counts.Sum(n => (double)n);
        var weights = counts.Select(n => n / total).ToArray();
        if (maxWeight is not { } cap || weights.Max() <= cap) return weights;
        if (cap * counts.Count < 1) return Enumerable.Repeat(1.0 / counts.Count, counts.Count).ToArray();
        var capped = new bool[counts.Count];
        while (true)
        {
            var free = 1.0 - cap * capped.Count(c => c);
            var freeCount = Enumerable.Range(0, counts.Count).Where(k => !capped[k]).Sum(k => (double)counts[k]);
            var changed = false;
            for (var k = 0; k < counts.Count; k++)
            {
                if (capped[k]) continue;
                weights[k] = free * counts[k] / freeCount;
                if (weights[k] > cap)
                {
                    capped[k] = true;
                    changed = true;
                }
            }
            if (!changed) break;
        }
        for (var k = 0; k < counts.Count; k++)
            if (capped[k]) weights[k] = cap;
        return weights;
    }
}
