using Confer.Models;

namespace Confer.Federation;

/// <summary>
/// Exact size of one transfer: the parameters it carries, their size before any codec (<see cref="RawBytes"/>, fp32 as
/// trained) and the bytes that travel (<see cref="Bytes"/>, after the message codecs, at the encoded tensors' own
/// dtypes; the tensor frames' few bytes of names and checksums are not counted). Raw ÷ encoded is the codec's ratio.
/// </summary>
public readonly record struct TransferCost(long Parameters, long RawBytes, long Bytes)
{
    /// <summary>Tensors sent as they are: raw and encoded bytes are the same.</summary>
    public TransferCost(long parameters, long bytes)
        : this(parameters, bytes, bytes)
    {
    }

    public static TransferCost Zero => default;

    /// <summary>The cost of sending every tensor of <paramref name="tensors"/> as it is.</summary>
    public static TransferCost Of(NamedTensors? tensors) => tensors is null ? Zero : new(tensors.ElementCount, tensors.ByteCount);

    /// <summary>The cost of sending <paramref name="raw"/> encoded as <paramref name="encoded"/>.</summary>
    public static TransferCost Of(NamedTensors? raw, NamedTensors? encoded) =>
        new(raw?.ElementCount ?? 0, raw?.ByteCount ?? 0, encoded?.ByteCount ?? 0);

    /// <summary>What a task puts on the wire unencoded: its adapter and the base delta it builds on.</summary>
    public static TransferCost Of(ClientTask task) => Of(task.Adapter) + Of(task.BaseDelta);

    /// <summary>What <paramref name="task"/> costs when it travels as <paramref name="encoded"/>.</summary>
    public static TransferCost Of(ClientTask task, ClientTask encoded) => Of(task.Adapter, encoded.Adapter) + Of(task.BaseDelta, encoded.BaseDelta);

    public static TransferCost operator +(TransferCost a, TransferCost b) =>
        new(a.Parameters + b.Parameters, a.RawBytes + b.RawBytes, a.Bytes + b.Bytes);
}
