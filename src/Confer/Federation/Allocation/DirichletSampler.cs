using Confer.Data;

namespace Confer.Federation.Allocation;

/// <summary>
/// Dirichlet(α, …, α) draws from a seeded <see cref="SplitMix64"/>, so allocations reproduce from a seed. Gamma by
/// Marsaglia–Tsang (boosted by U^{1/α} for α &lt; 1), kept in log space so tiny α cannot underflow to all zeros.
/// </summary>
internal static class DirichletSampler
{
    public static double[] Sample(SplitMix64 rng, double alpha, int count) => Sample(rng, alpha, count, _ => true);

    /// <summary>
    /// A Dir(α, …, α) draw over all <paramref name="count"/> components with the ineligible ones set to 0 and the rest
    /// renormalised — which is again Dirichlet over the eligible ones. Renormalising in log space over the eligible
    /// components only keeps them from underflowing to 0 when an ineligible one dominates (small α).
    /// </summary>
    public static double[] Sample(SplitMix64 rng, double alpha, int count, Func<int, bool> eligible)
    {
        if (!(alpha > 0)) throw new ArgumentException($"Dirichlet alpha must be > 0 (got {alpha}).");
        var logs = new double[count];
        for (var i = 0; i < count; i++) logs[i] = LogGamma(rng, alpha);
        var kept = Enumerable.Range(0, count).Where(eligible).ToList();
        if (kept.Count == 0) throw new ArgumentException("At least one Dirichlet component must be eligible.", nameof(eligible));
        var max = kept.Max(i => logs[i]);
        var weights = new double[count];
        foreach (var i in kept) weights[i] = Math.Exp(logs[i] - max);
        var sum = weights.Sum();
        return weights.Select(w => w / sum).ToArray();
    }

    private static double LogGamma(SplitMix64 rng, double shape)
    {
        if (shape < 1) return LogGamma(rng, shape + 1) + Math.Log(1 - Uniform(rng)) / shape;
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            var x = Normal(rng);
            var v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            var u = 1 - Uniform(rng);
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return Math.Log(d * v);
        }
    }

    /// <summary>Uniform in [0, 1) from the top 53 bits.</summary>
    private static double Uniform(SplitMix64 rng) => (rng.NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private static double Normal(SplitMix64 rng)
    {
        var u1 = 1 - Uniform(rng);
        var u2 = Uniform(rng);
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
