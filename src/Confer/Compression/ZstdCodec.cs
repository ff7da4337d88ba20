using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Confer.Models;
using ZstdSharp;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Compression;

/// <summary>
/// <c>zstd[:level]</c> (default level 1): lossless compression of the whole message, whatever its dtypes, as the last
/// stage of a chain. The message travels as one uint8 tensor, <see cref="BlobName"/>, holding one zstd frame of its
/// tensors in order — for each: name (u16 length + UTF-8), dtype code, rank, dimensions (int64 LE), raw bytes — so
/// names and the small parts of coded tensors (shapes, scales) are compressed too, and a message of a hundred LoRA
/// tensors costs one wire tensor, not five hundred.
/// <para>
/// Decoding streams the frame and checks every field before it acts on it: each tensor's header (name length and
/// UTF-8, unique name, dtype, rank, dimensions) before its tensor exists, its size against the decode budget before
/// it is allocated, that its bytes are all there, and that nothing follows the last tensor. A corrupt frame is
/// refused by name like any other malformed message.
/// </para>
/// </summary>
internal sealed class ZstdCodec(string id, int level) : ITensorCodec, IChainRole
{
    public const int DefaultLevel = 1;

    /// <summary>The one tensor a zstd-coded message holds; the separator keeps it apart from any tensor name.</summary>
    public const string BlobName = "zstd#message";

    private const int MaxRank = 8;
    private const int MaxNameBytes = 4096;
    private const int MaxTensors = 1 << 20;

    /// <summary>Messages up to this many bytes are laid out in one buffer and compressed in one call (<see cref="CompressWhole"/>).</summary>
    private const int OneShotBytes = 1 << 30;

    /// <summary>Dtype codes on the wire; index = code.</summary>
    private static readonly ScalarType[] Dtypes =
    [
        ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float64, ScalarType.Int64, ScalarType.Int32,
        ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool,
    ];

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public string Id { get; } = id;

    public bool Lossless => true;

    public StageRole Role => StageRole.Bytes;

    public NamedTensors Encode(NamedTensors tensors, CodecContext context)
    {
        var output = new NamedTensors();
        if (tensors.Count == 0) return output;
        var dense = new List<(string Name, Tensor Tensor, byte[] Header)>(tensors.Count);
        try
        {
            long length = 4;
            foreach (var (name, t) in tensors)
            {
                var d = t.device_type == TorchSharp.DeviceType.CPU && t.is_contiguous() ? t.alias() : t.detach().cpu().contiguous();
                dense.Add((name, d, Header(name, d)));
                length += dense[^1].Header.Length + d.numel() * d.element_size();
            }
            var blob = length <= OneShotBytes ? CompressWhole(dense, (int)length) : CompressStreaming(dense);
            output.Add(BlobName, blob);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            foreach (var (_, t, _) in dense) t.Dispose();
        }
    }

    /// <summary>
    /// Lays the message out in one buffer and compresses it in one call: measured about 1.7× faster than feeding the
    /// same bytes through a <see cref="CompressionStream"/> (ZstdSharp 0.8.8, level 1, 16 MB of int8 levels), which
    /// copies every block through its window buffer and grows the output stream. The frame holds the same payload.
    /// </summary>
    private Tensor CompressWhole(List<(string Name, Tensor Tensor, byte[] Header)> dense, int length)
    {
        // Fresh arrays, not the shared pool: a pool would keep a buffer the size of the largest message alive for good.
        var payload = GC.AllocateUninitializedArray<byte>(length);
        BinaryPrimitives.WriteInt32LittleEndian(payload, dense.Count);
        var at = 4;
        foreach (var (name, t, header) in dense)
        {
            header.CopyTo(payload, at);
            at += header.Length;
            var bytes = HostTensor.Bytes(t, name);
            bytes.CopyTo(payload.AsSpan(at));
            at += bytes.Length;
        }
        var compressed = GC.AllocateUninitializedArray<byte>(Compressor.GetCompressBound(length));
        using var compressor = new Compressor(level);
        var written = compressor.Wrap(payload, compressed);
        return Blob(compressed.AsSpan(0, written));
    }

    /// <summary>A message too large for one buffer goes through the stream, tensor by tensor, into the same frame format.</summary>
    private Tensor CompressStreaming(List<(string Name, Tensor Tensor, byte[] Header)> dense)
    {
        using var compressed = new MemoryStream();
        using (var zstd = new CompressionStream(compressed, level, leaveOpen: true))
        {
            Span<byte> count = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(count, dense.Count);
            zstd.Write(count);
            foreach (var (name, t, header) in dense)
            {
                zstd.Write(header);
                zstd.Write(HostTensor.Bytes(t, name));
            }
        }
        if (compressed.Length > int.MaxValue) throw new NotSupportedException($"zstd: the compressed message is {compressed.Length} bytes; a zstd stage sends at most 2 GiB.");
        return Blob(compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
    }

    private static Tensor Blob(ReadOnlySpan<byte> frame)
    {
        var blob = HostTensor.Empty(frame.Length, ScalarType.Byte);
        frame.CopyTo(HostTensor.Bytes(blob, BlobName));
        return blob;
    }

    /// <summary>A tensor's header on the wire: name (u16 length + UTF-8), dtype code, rank, dimensions (int64 LE).</summary>
    private static byte[] Header(string name, Tensor t)
    {
        var code = Array.IndexOf(Dtypes, t.dtype);
        if (code < 0) throw new NotSupportedException($"tensor '{name}': zstd cannot send {t.dtype}.");
        if (t.dim() > MaxRank) throw new NotSupportedException($"tensor '{name}': zstd sends tensors of rank ≤ {MaxRank}.");
        var nameBytes = Encoding.UTF8.GetBytes(name);
        if (nameBytes.Length > MaxNameBytes) throw new NotSupportedException($"tensor '{name}': zstd sends names of at most {MaxNameBytes} bytes.");
        var header = new byte[2 + nameBytes.Length + 2 + 8 * t.dim()];
        BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)nameBytes.Length);
        nameBytes.CopyTo(header, 2);
        var at = 2 + nameBytes.Length;
        header[at] = (byte)code;
        header[at + 1] = (byte)t.dim();
        for (var d = 0; d < t.dim(); d++) BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(at + 2 + 8 * d), t.shape[d]);
        return header;
    }

    public NamedTensors Decode(NamedTensors encoded, CodecContext context)
    {
        var output = new NamedTensors();
        if (encoded.Count == 0) return output;
        if (encoded.Count != 1 || !encoded.TryGet(BlobName, out var blob))
            throw new InvalidDataException($"tensor '{encoded.Names.First(n => n != BlobName)}': a zstd message is the one tensor '{BlobName}'");
        if (blob.dtype != ScalarType.Byte || blob.dim() != 1)
            throw new InvalidDataException($"tensor '{BlobName}': zstd sends a 1-D uint8 tensor, got {blob.dtype} {HostTensor.Describe(blob.shape)}");
        var bytes = HostTensor.Bytes(blob, BlobName);
        var copy = ArrayPool<byte>.Shared.Rent(bytes.Length);
        var current = BlobName;
        try
        {
            bytes.CopyTo(copy);
            using var zstd = new DecompressionStream(new MemoryStream(copy, 0, bytes.Length, writable: false));
            Span<byte> small = stackalloc byte[8];
            ReadExactly(zstd, small[..4], current);
            var count = BinaryPrimitives.ReadInt32LittleEndian(small);
            if (count is < 0 or > MaxTensors) throw new InvalidDataException($"tensor '{BlobName}': a message of {count} tensors");
            for (var i = 0; i < count; i++)
            {
                current = BlobName;
                ReadExactly(zstd, small[..2], current);
                var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(small);
                if (nameLength > MaxNameBytes) throw new InvalidDataException($"tensor '{BlobName}': tensor {i} has a name of {nameLength} bytes");
                var nameBytes = new byte[nameLength];
                ReadExactly(zstd, nameBytes, current);
                current = StrictUtf8.GetString(nameBytes);
                if (output.Contains(current)) throw new InvalidDataException($"tensor '{current}' is sent twice");
                ReadExactly(zstd, small[..2], current);
                var (code, rank) = (small[0], small[1]);
                if (code >= Dtypes.Length) throw new InvalidDataException($"tensor '{current}': unknown dtype code {code}");
                if (rank > MaxRank) throw new InvalidDataException($"tensor '{current}': rank {rank} is above {MaxRank}");
                var shape = new long[rank];
                long elements = 1;
                for (var d = 0; d < rank; d++)
                {
                    ReadExactly(zstd, small, current);
                    shape[d] = BinaryPrimitives.ReadInt64LittleEndian(small);
                    if (shape[d] < 0 || shape[d] > int.MaxValue || (elements *= shape[d]) > int.MaxValue)
                        throw new InvalidDataException($"tensor '{current}': shape {HostTensor.Describe(shape.Take(d + 1))} is out of range");
                }
                var dtype = Dtypes[code];
                context.Budget.Take(elements * SafetensorsDtype.ItemSize(dtype), current);
                var t = empty(shape, dtype);
                output.Add(current, t);
                ReadExactly(zstd, HostTensor.Bytes(t, current), current);
            }
            if (zstd.Read(small[..1]) != 0) throw new InvalidDataException($"tensor '{BlobName}': data follows the last of its {count} tensors");
            return output;
        }
        catch (Exception e) when (e is ZstdException or DecoderFallbackException)
        {
            output.Dispose();
            throw new InvalidDataException($"tensor '{current}': corrupt zstd message ({e.Message})");
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> target, string tensor)
    {
        try
        {
            stream.ReadExactly(target);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"tensor '{tensor}': the zstd message ends early (truncated)");
        }
    }
}
