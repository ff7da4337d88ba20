using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// A rank component i whose A row and B column are both zero adds nothing to B·A and can never learn: the gradient
/// of each is proportional to the other. Zero-padding (HetLoRA, FlexLoRA with a small global rank) creates such
/// components, so before sending a truncated adapter the server re-draws those A rows from PEFT's init
/// U(−1/√d_in, 1/√d_in); B stays zero, so the adapter's product is unchanged.
/// </summary>
internal static class DeadRanks
{
    /// <summary>A with its dead rows re-drawn, or A itself when none are dead.</summary>
    public static Tensor Revive(Tensor a, Tensor b, Generator generator)
    {
        var dead = a.abs().sum(dim: 1).eq(0).logical_and(b.abs().sum(dim: 0).eq(0));
        if (!dead.any().item<bool>()) return a;
        var bound = 1.0 / Math.Sqrt(a.shape[1]);
        var fresh = rand(a.shape, dtype: a.dtype, generator: generator).mul_(2 * bound).sub_(bound);
        return where(dead.unsqueeze(1), fresh, a);
    }
}
