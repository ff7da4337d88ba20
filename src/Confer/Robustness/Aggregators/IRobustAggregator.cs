using static TorchSharp.torch;

namespace Confer.Robustness.Aggregators;

/// <summary>
/// A Byzantine-robust replacement for the weighted mean of client updates (algorithms.md §8; Flower's
/// <c>aggregate.py</c>). It sees every update as one flattened vector Δ_k = θ_k − θ (all adapter tensors concatenated,
/// so coordinate-wise rules and distances treat the adapter as a whole rather than A and B apart) and returns the
/// combined update. A new rule is one class and one <see cref="RobustAggregatorRegistry.Register"/> call.
/// </summary>
public interface IRobustAggregator
{
    /// <summary>The registry name, e.g. <c>median</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Combines the rows of <paramref name="updates"/> (n × d, fp64, clients in ascending id order) with their
    /// aggregation weights p_k (summing to 1) into one update of length d. Throws <see cref="ArgumentException"/> when
    /// the rule cannot work with n clients (e.g. Krum needs n ≥ 2f + 3).
    /// </summary>
    Tensor Combine(Tensor updates, IReadOnlyList<double> weights);
}

/// <summary>The knobs robust rules read (<c>trim_ratio</c>, <c>byzantine_clients</c>, <c>krum_keep</c>, <c>norm_bound</c>).</summary>
/// <param name="TrimRatio">β of the trimmed mean: drop ⌊βn⌋ smallest and largest per coordinate.</param>
/// <param name="ByzantineClients">f, the number of malicious clients Krum and Multi-Krum tolerate.</param>
/// <param name="KrumKeep">m, how many lowest-score updates Multi-Krum averages; null = n − f.</param>
/// <param name="NormBound">M of norm bounding: every update is scaled to norm ≤ M before the weighted mean.</param>
public sealed record RobustOptions(double TrimRatio = 0.1, int ByzantineClients = 1, int? KrumKeep = null, double NormBound = 1.0);
