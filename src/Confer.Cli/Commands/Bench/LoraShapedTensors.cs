using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Cli.Commands.Bench;

/// <summary>
/// A synthetic update with the layout of a 7B Llama LoRA adapter (d 4096, ffn 11008, r 16 on q, k, v, o, gate, up and
/// down: lora_A [r, d_in] and lora_B [d_out, r], fp32), with as many layers as it takes to reach the requested size.
/// The transport's cost depends on tensor count and sizes (256–688 KiB here), not on the values.
/// </summary>
internal static class LoraShapedTensors
{
    private const int Hidden = 4096;
    private const int Ffn = 11008;
    private const int Rank = 16;

    private static readonly (string Module, int In, int Out)[] Modules =
    [
        ("self_attn.q_proj", Hidden, Hidden), ("self_attn.k_proj", Hidden, Hidden), ("self_attn.v_proj", Hidden, Hidden),
        ("self_attn.o_proj", Hidden, Hidden), ("mlp.gate_proj", Hidden, Ffn), ("mlp.up_proj", Hidden, Ffn), ("mlp.down_proj", Ffn, Hidden),
    ];

    /// <summary>Bytes of one layer's adapter.</summary>
    public static long LayerBytes => Modules.Sum(m => (long)Rank * (m.In + m.Out)) * sizeof(float);

    public static string Describe(NamedTensors tensors) =>
        $"{tensors.Count} fp32 tensors ({tensors.Count / (2 * Modules.Length)} layers of a 7B-shaped LoRA r={Rank}: d {Hidden}, ffn {Ffn}), {tensors.ByteCount / 1e6:F1} MB";

    /// <summary>Random values, seeded; about <paramref name="megabytes"/> MB (10⁶ bytes) in whole layers, at least one.</summary>
    public static NamedTensors Create(double megabytes, ulong seed = 42)
    {
        var layers = Math.Max(1, (int)Math.Round(megabytes * 1e6 / LayerBytes));
        var generator = new Generator(seed);
        var tensors = new NamedTensors();
        for (var layer = 0; layer < layers; layer++)
            foreach (var (module, din, dout) in Modules)
            {
                var prefix = $"base_model.model.model.layers.{layer}.{module}";
                tensors.Add($"{prefix}.lora_A.weight", randn([Rank, din], generator: generator));
                tensors.Add($"{prefix}.lora_B.weight", randn([dout, Rank], generator: generator));
            }
        return tensors;
    }

    /// <summary>Same names, shapes, dtypes and bytes (both contiguous CPU tensors, as the reader makes them).</summary>
    public static bool Identical(NamedTensors a, NamedTensors b) =>
        a.Count == b.Count && a.All(p => b.TryGet(p.Key, out var t) && t.dtype == p.Value.dtype && t.shape.SequenceEqual(p.Value.shape) && t.bytes.SequenceEqual(p.Value.bytes));
}
