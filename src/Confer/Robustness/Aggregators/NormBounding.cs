using static TorchSharp.torch;

namespace Confer.Robustness.Aggregators;

/// <summary>
/// <c>norm-bound</c> (Sun et al., arXiv 1911.07963): every update is scaled to norm ≤ M, Δ_k ← Δ_k·min(1, M/‖Δ_k‖),
/// then averaged with the usual weights. No Byzantine guarantee; it caps how far one boosted update can pull the model.
/// </summary>
public sealed class NormBounding : IRobustAggregator
{
    public const string RegistryName = "norm-bound";
    private readonly double _bound;

    public NormBounding(double bound)
    {
        if (!(bound > 0)) throw new ArgumentException($"norm_bound must be > 0 (got {bound}).");
        _bound = bound;
    }

    public string Name => RegistryName;

    public Tensor Combine(Tensor updates, IReadOnlyList<double> weights)
    {
        var norms = updates.norm(1, keepdim: true);
        var factors = norms.clamp_min(_bound).reciprocal().mul(_bound);
        var w = tensor(weights.ToArray(), updates.dtype).unsqueeze(1);
        return updates.mul(factors).mul(w).sum([0]);
    }
}
