using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Confer.Compression;

/// <summary>
/// Spans over the memory of contiguous CPU tensors, so codec kernels run vectorised over the data in place instead
/// of element by element through TorchSharp accessors. A span is valid while its tensor lives; kernels never keep one.
/// </summary>
internal static class HostTensor
{
    /// <summary><paramref name="t"/> as a contiguous CPU fp32 tensor: an alias when it already is one, else a copy. The caller disposes it.</summary>
    public static Tensor Float32(Tensor t) =>
        t.device_type == TorchSharp.DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous()
            ? t.alias()
            : t.detach().to(ScalarType.Float32, CPU).contiguous();

    /// <summary>A contiguous CPU tensor's bytes (at most 2 GiB, the limit of a span), refusing anything else.</summary>
    public static Span<byte> Bytes(Tensor t, string name)
    {
        if (t.device_type != TorchSharp.DeviceType.CPU || !t.is_contiguous())
            throw new ArgumentException($"tensor '{name}': codecs work on contiguous CPU tensors.");
        if (t.numel() * t.element_size() > int.MaxValue)
            throw new NotSupportedException($"tensor '{name}': {t.numel() * t.element_size()} bytes; a codec handles tensors of up to 2 GiB.");
        return t.numel() == 0 ? [] : t.bytes;
    }

    public static Span<T> Span<T>(Tensor t, string name) where T : unmanaged => MemoryMarshal.Cast<byte, T>(Bytes(t, name));

    /// <summary>A new uninitialised 1-D CPU tensor of <paramref name="count"/> elements.</summary>
    public static Tensor Empty(long count, ScalarType dtype) => empty([count], dtype, CPU);

    /// <summary>The shape as the int64 tensor that travels beside a packed payload.</summary>
    public static Tensor ShapeTensor(long[] shape)
    {
        var t = Empty(shape.Length, ScalarType.Int64);
        shape.CopyTo(Span<long>(t, "shape"));
        return t;
    }

    /// <summary>
    /// Reads a shape that travelled as a tensor: int64, 1-D, at most 8 dimensions, none negative, and a total element
    /// count that fits a span; refuses anything else by name.
    /// </summary>
    public static long[] ReadShape(Tensor t, string name)
    {
        if (t.dtype != ScalarType.Int64 || t.dim() != 1 || t.numel() > 8)
            throw new InvalidDataException($"tensor '{name}': a shape must be 1-D int64 with at most 8 dimensions (got {t.dtype} {Describe(t.shape)})");
        var shape = Span<long>(t, name).ToArray();
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0 || d > int.MaxValue) throw new InvalidDataException($"tensor '{name}': dimension {d} in shape {Describe(shape)} is out of range");
            count *= d;
            if (count > int.MaxValue) throw new InvalidDataException($"tensor '{name}': shape {Describe(shape)} holds more than {int.MaxValue} elements");
        }
        return shape;
    }

    public static long Count(long[] shape) => shape.Aggregate(1L, (n, d) => n * d);

    public static string Describe(IEnumerable<long> shape) => $"[{string.Join(",", shape)}]";
}
