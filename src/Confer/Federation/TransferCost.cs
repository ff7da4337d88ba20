using Confer.Models;

namespace Confer.Federation;

/// <summary>
/// Exact size of one transfer: parameters and bytes. Bytes are counted at the tensors' own dtypes, or at fp32 for
/// payloads the server derives (FLoRA stacks), before any codec — a codec reports its own bytes on top.
/// </summary>
public readonly record struct TransferCost(long Parameters, long Bytes)
{
    /// <summary>Bytes per parameter of an fp32 payload.</summary>
    public const int Fp32Bytes = 4;

    public static TransferCost Zero => default;

    /// <summary>The cost of <paramref name="parameters"/> fp32 values.</summary>
    public static TransferCost Fp32(long parameters) => new(parameters, parameters * Fp32Bytes);

    /// <summary>The cost of sending the tensors of <paramref name="tensors"/> whose names pass <paramref name="include"/> (all by default).</summary>
    public static TransferCost Of(NamedTensors? tensors, Func<string, bool>? include = null)
    {
        if (tensors is null) return Zero;
        long parameters = 0, bytes = 0;
        foreach (var (name, t) in tensors)
        {
            if (include is not null && !include(name)) continue;
            parameters += t.numel();
            bytes += t.numel() * t.element_size();
        }
        return new(parameters, bytes);
    }

    public static TransferCost operator +(TransferCost a, TransferCost b) => new(a.Parameters + b.Parameters, a.Bytes + b.Bytes);
}
