using Confer.Models;
using Confer.Peft;

namespace Confer.Federation.Strategies;

/// <summary>One adapted linear layer: its HF path and the dense shape d_out × d_in that its LoRA pair modifies.</summary>
internal sealed record LoraModule(string Path, long DIn, long DOut)
{
    public string AKey => LoraKeys.A(Path);

    public string BKey => LoraKeys.B(Path);

    public string DenseKey => LoraKeys.DenseWeight(Path);

    /// <summary>
    /// Splits an adapter into its LoRA modules (in first-seen order), its other trainable tensors, and its rank.
    /// Every module needs both A (r × d_in) and B (d_out × r) with one r shared by all modules.
    /// </summary>
    public static (IReadOnlyList<LoraModule> Modules, IReadOnlyList<string> ExtraKeys, int? Rank) Discover(NamedTensors adapter)
    {
        var modules = new List<LoraModule>();
        int? rank = null;
        foreach (var path in LoraKeys.ModulePaths(adapter.Names))
        {
            var aKey = LoraKeys.A(path);
            var bKey = LoraKeys.B(path);
            if (!adapter.TryGet(aKey, out var a) || !adapter.TryGet(bKey, out var b))
                throw new ArgumentException($"Adapter has only one of '{aKey}' and '{bKey}'; every LoRA module needs both.");
            if (a.dim() != 2 || b.dim() != 2 || a.shape[0] != b.shape[1])
                throw new ArgumentException(
                    $"LoRA module '{path}': expected A [r, d_in] and B [d_out, r], got A [{string.Join(",", a.shape)}] and B [{string.Join(",", b.shape)}].");
            var r = (int)a.shape[0];
            if (rank is not null && rank != r)
                throw new ArgumentException($"LoRA module '{path}' has rank {r} but earlier modules have rank {rank}; one adapter has one rank.");
            rank = r;
            modules.Add(new LoraModule(path, a.shape[1], b.shape[0]));
        }
        var extras = adapter.Names.Where(n => !LoraKeys.IsA(n) && !LoraKeys.IsB(n)).ToList();
        return (modules, extras, rank);
    }
}
