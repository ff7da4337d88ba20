using static TorchSharp.torch;

namespace Confer.Robustness.Aggregators;

/// <summary>
/// <c>trimmed-mean</c> — coordinate-wise β-trimmed mean (Yin et al., arXiv 1803.01498): per coordinate drop the ⌊βn⌋
/// smallest and ⌊βn⌋ largest values and average the rest, unweighted. Tolerates f Byzantine clients when β ≥ f/n.
/// </summary>
public sealed class TrimmedMean : IRobustAggregator
{
    public const string RegistryName = "trimmed-mean";
    private readonly double _beta;

    public TrimmedMean(double beta)
    {
        if (!(beta is >= 0 and < 0.5)) throw new ArgumentException($"trim_ratio must be in [0, 0.5) (got {beta}).");
        _beta = beta;
    }

    public string Name => RegistryName;

    public Tensor Combine(Tensor updates, IReadOnlyList<double> weights)
    {
        var n = (int)updates.shape[0];
        var k = (int)Math.Floor(_beta * n);
        if (2 * k >= n) throw new ArgumentException($"trim_ratio {_beta} trims 2·{k} of {n} updates, leaving none; lower it or select more clients.");
        return updates.sort(0).Values.narrow(0, k, n - 2 * k).mean([0]);
    }
}
