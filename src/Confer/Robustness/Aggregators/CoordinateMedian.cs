using static TorchSharp.torch;

namespace Confer.Robustness.Aggregators;

/// <summary>
/// <c>median</c> — coordinate-wise median (Yin et al., arXiv 1803.01498): per coordinate the middle value, the mean of
/// the two middle values for even n (NumPy's convention; <c>torch.median</c> would return the lower one). Unweighted;
/// tolerates fewer than n/2 Byzantine clients.
/// </summary>
public sealed class CoordinateMedian : IRobustAggregator
{
    public const string RegistryName = "median";

    public string Name => RegistryName;

    public Tensor Combine(Tensor updates, IReadOnlyList<double> weights)
    {
        var n = updates.shape[0];
        var sorted = updates.sort(0).Values;
        return n % 2 == 1 ? sorted[n / 2] : sorted[n / 2 - 1].add(sorted[n / 2]).div(2);
    }
}
