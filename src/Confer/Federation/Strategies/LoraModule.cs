using Confer.Models;
using Confer.Peft;

namespace Confer.Federation.Strategies;

/// <summary>One adapted linear layer: its HF path and the dense shape d_out × d_in that its LoRA pair modifies.</summary>
/// <param name="Path">HF module path, e.g. <c>model.layers.0.self_attn.q_proj</c>.</param>
/// <param name="DIn">Input features d_in (columns of <c>lora_A</c>).</param>
/// <param name="DOut">Output features d_out (rows of <c>lora_B</c>).</param>
public sealed record LoraModule(string Path, long DIn, long DOut)
{
    /// <summary>The PEFT key of its <c>lora_A</c> (r × d_in).</summary>
    public string AKey => LoraKeys.A(Path);

    /// <summary>The PEFT key of its <c>lora_B</c> (d_out × r).</summary>
    public string BKey => LoraKeys.B(Path);

    /// <summary>The key of its dense ΔW in <see cref="Strategy.MergedDelta"/>.</summary>
    public string DenseKey => LoraKeys.DenseWeight(Path);

    /// <summary>
    /// Splits an adapter into its LoRA modules (in first-seen order), its other trainable tensors, and its rank.
    /// Every module needs both A (r × d_in) and B (d_out × r) with one r shared by all modules.
    /// </summary>
    internal static (IReadOnlyList<LoraModule> Modules, IReadOnlyList<string> ExtraKeys, int? Rank) Discover(NamedTensors adapter)
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
