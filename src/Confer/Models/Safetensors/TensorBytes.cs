using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models.Safetensors;

/// <summary>
/// Moves a contiguous CPU tensor's raw bytes to and from a file without an intermediate managed copy.
/// <see cref="Tensor.bytes"/> is a <see cref="Span{T}"/> and so stops at 2 GiB; larger tensors go through
/// flat views in chunks.
/// </summary>
internal static class TensorBytes
{
    internal const int DefaultChunkBytes = 1 << 30;

    /// <summary>Fills <paramref name="tensor"/> from the file at <paramref name="fileOffset"/>.</summary>
    public static void Read(SafeFileHandle handle, Tensor tensor, long fileOffset, string path, int chunkBytes = DefaultChunkBytes)
    {
        foreach (var (part, offset) in Chunks(tensor, chunkBytes))
        {
            using var _ = part;
            SafetensorsHeader.ReadExactly(handle, part.bytes, fileOffset + offset, path);
        }
    }

    /// <summary>Appends <paramref name="tensor"/>'s bytes to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, Tensor tensor, int chunkBytes = DefaultChunkBytes)
    {
        foreach (var (part, _) in Chunks(tensor, chunkBytes))
        {
            using var __ = part;
            stream.Write(part.bytes);
        }
    }

    /// <summary>Contiguous flat views of at most <paramref name="chunkBytes"/> each, with their byte offsets.</summary>
    private static IEnumerable<(Tensor Part, long ByteOffset)> Chunks(Tensor tensor, int chunkBytes)
    {
        if (!tensor.is_contiguous() || tensor.device_type != DeviceType.CPU)
            throw new ArgumentException("Tensor must be contiguous and on the CPU for raw byte I/O.", nameof(tensor));
        long count = tensor.numel();
        if (count == 0) yield break;
        long itemSize = tensor.element_size();
        long perChunk = Math.Max(1, chunkBytes / itemSize);
        using var flat = tensor.view(-1);
        for (long start = 0; start < count; start += perChunk)
            yield return (flat.narrow(0, start, Math.Min(perChunk, count - start)), start * itemSize);
    }
}
