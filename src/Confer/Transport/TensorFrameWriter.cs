using System.IO.Hashing;
using Confer.Models;
using Confer.Transport.Protocol;
using Google.Protobuf;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Transport;

/// <summary>
/// Turns named tensors into <see cref="TensorFrame"/>s of at most <see cref="ChunkBytes"/> each, so an adapter of any
/// size (a 7B model's is hundreds of MB) streams under the gRPC message limit, with a CRC-32 per tensor so a flipped
/// or lost byte is caught before the tensor is used.
/// </summary>
internal static class TensorFrameWriter
{
    /// <summary>1 MiB: well under the 8 MiB message limit, large enough that per-message overhead is noise.</summary>
    public const int ChunkBytes = 1 << 20;

    public static IEnumerable<TensorFrame> Frames(string section, NamedTensors tensors, int chunkBytes = ChunkBytes)
    {
        foreach (var (name, tensor) in tensors)
            foreach (var frame in Frames(section, name, tensor, chunkBytes))
                yield return frame;
    }

    private static IEnumerable<TensorFrame> Frames(string section, string name, Tensor tensor, int chunkBytes)
    {
        var dense = tensor.device_type == TorchSharp.DeviceType.CPU && tensor.is_contiguous() ? tensor.alias() : tensor.detach().cpu().contiguous();
        using (dense)
        {
            var frame = new TensorFrame { Section = section, Name = name, Dtype = SafetensorsDtype.Name(dense.dtype) };
            frame.Shape.AddRange(dense.shape);
            long count = dense.numel();
            long itemSize = dense.element_size();
            long perChunk = Math.Max(1, chunkBytes / itemSize);
            var crc = new Crc32();
            using var flat = dense.view(-1);
            for (long start = 0; start < count; start += perChunk)
            {
                using var part = flat.narrow(0, start, Math.Min(perChunk, count - start));
                frame.Offset = start * itemSize;
                frame.Data = Copy(part.bytes, crc);
                if (start + perChunk < count)
                {
                    yield return frame;
                    frame = new TensorFrame();
                }
            }
            frame.Last = true;
            frame.Crc32 = crc.GetCurrentHashAsUInt32();
            yield return frame;
        }
    }

    /// <summary>
    /// The frame's own copy of the bytes, checksummed as copied (the CRC then reads cache-hot memory). The array is
    /// not zeroed first since every byte is overwritten, and is wrapped rather than copied again: nothing else holds
    /// it, so the frame's bytes cannot change after it is made.
    /// </summary>
    private static ByteString Copy(ReadOnlySpan<byte> bytes, Crc32 crc)
    {
        var copy = GC.AllocateUninitializedArray<byte>(bytes.Length);
        bytes.CopyTo(copy);
        crc.Append(copy);
        return UnsafeByteOperations.UnsafeWrap(copy);
    }
}
