using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// The way down for rank-heterogeneous strategies that keep one global adapter (HetLoRA, FlexLoRA): client k gets
/// A[:r_k] and B[:, :r_k] — zero-padded when the global rank is smaller, dead ranks re-drawn (<see cref="DeadRanks"/>)
/// — plus copies of the other trainable tensors.
/// </summary>
internal static class RankTruncation
{
    public static NamedTensors Cut(NamedTensors global, IReadOnlyList<LoraModule> modules, IReadOnlyList<string> extraKeys, int rank, ulong seed)
    {
        using var generator = new Generator(seed);
        var adapter = new NamedTensors();
        foreach (var m in modules)
        {
            var b = TensorMath.Columns(global[m.BKey], rank);
            var a = DeadRanks.Revive(TensorMath.Rows(global[m.AKey], rank), b, generator);
            adapter.Add(m.AKey, a);
            adapter.Add(m.BKey, b);
        }
        foreach (var key in extraKeys) adapter.Add(key, global[key].clone());
        return adapter;
    }
}
