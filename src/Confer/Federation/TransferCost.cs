using Confer.Models;

namespace Confer.Federation;

/// <summary>
/// Exact size of one transfer: parameters and bytes, counted at the tensors' own dtypes as they travel (after the
/// message codecs; the tensor frames' few bytes of names and checksums are not counted).
/// </summary>
public readonly record struct TransferCost(long Parameters, long Bytes)
{
    public static TransferCost Zero => default;

    /// <summary>The cost of sending every tensor of <paramref name="tensors"/>.</summary>
    public static TransferCost Of(NamedTensors? tensors)
    {
        if (tensors is null) return Zero;
        long parameters = 0, bytes = 0;
        foreach (var (_, t) in tensors)
        {
            parameters += t.numel();
            bytes += t.numel() * t.element_size();
        }
        return new(parameters, bytes);
    }

    /// <summary>What a task puts on the wire: its adapter and the base delta it builds on.</summary>
    public static TransferCost Of(ClientTask task) => Of(task.Adapter) + Of(task.BaseDelta);

    public static TransferCost operator +(TransferCost a, TransferCost b) => new(a.Parameters + b.Parameters, a.Bytes + b.Bytes);
}
