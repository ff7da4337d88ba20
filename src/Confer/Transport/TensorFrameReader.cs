using System.IO.Hashing;
using Confer.Models;
using Confer.Transport.Protocol;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Transport;

/// <summary>
/// Rebuilds named tensors from a stream of <see cref="TensorFrame"/>s (see <see cref="TensorFrameWriter"/>), trusting
/// nothing: every frame must continue the tensor it belongs to at the right offset with whole elements, a tensor must
/// end with its declared byte count and matching CRC-32, and the total stays under a byte budget so a hostile peer
/// cannot make the receiver allocate without bound. Any violation is a <see cref="TensorStreamException"/> naming the
/// tensor; nothing half-received is ever handed out.
/// </summary>
internal sealed class TensorFrameReader(long maxTotalBytes) : IDisposable
{
    private readonly Dictionary<string, NamedTensors> _sections = new(StringComparer.Ordinal);
    private long _totalBytes;
    private Pending? _pending;

    /// <summary>Adds the next frame of the stream.</summary>
    public void Add(TensorFrame frame)
    {
        var pending = _pending;
        if (pending is null) pending = Begin(frame);
        else if (frame.Name.Length > 0 && frame.Name != pending.Name)
            throw new TensorStreamException(pending.Name, $"ended after {pending.Received} of {pending.ByteLength} bytes, when tensor '{frame.Name}' began (truncated stream).");
        if (frame.Offset != pending.Received)
            throw new TensorStreamException(pending.Name, $"frame at byte {frame.Offset}, expected {pending.Received} (frames lost or reordered).");
        var length = frame.Data.Length;
        if (length % pending.ItemSize != 0)
            throw new TensorStreamException(pending.Name, $"a frame of {length} bytes does not hold whole {pending.Dtype} elements.");
        if (pending.Received + length > pending.ByteLength)
            throw new TensorStreamException(pending.Name, $"{pending.Received + length} bytes arrived for a tensor of {pending.ByteLength} bytes ({pending.Dtype} {Shape(pending.Tensor.shape)}).");
        if (length > 0)
        {
            using var part = pending.Flat.narrow(0, pending.Received / pending.ItemSize, length / pending.ItemSize);
            frame.Data.Span.CopyTo(part.bytes);
            pending.Crc.Append(frame.Data.Span);
            pending.Received += length;
        }
        if (frame.Last) Finish(pending, frame.Crc32);
    }

    /// <summary>How many whole tensors of <paramref name="section"/> have arrived.</summary>
    public int Count(string section) => _sections.TryGetValue(section, out var s) ? s.Count : 0;

    /// <summary>
    /// Ends the stream: throws when a tensor is still incomplete (the peer stopped mid-tensor) or a section holds other
    /// than the announced number of tensors.
    /// </summary>
    public void Complete(IReadOnlyDictionary<string, int> expectedCounts)
    {
        if (_pending is { } p)
            throw new TensorStreamException(p.Name, $"the stream ended after {p.Received} of {p.ByteLength} bytes (truncated).");
        foreach (var (section, expected) in expectedCounts)
            if (Count(section) != expected)
                throw new TensorStreamException(null, $"the stream held {Count(section)} tensors in '{section}', its header announced {expected} (truncated).");
        var extra = _sections.Keys.Where(s => !expectedCounts.ContainsKey(s)).ToList();
        if (extra.Count > 0) throw new TensorStreamException(null, $"section '{extra[0]}' was not announced.");
    }

    /// <summary>Hands the tensors of <paramref name="section"/> to the caller (empty when none arrived).</summary>
    public NamedTensors Take(string section) => _sections.Remove(section, out var s) ? s : new NamedTensors();

    private Pending Begin(TensorFrame frame)
    {
        if (frame.Name.Length == 0) throw new TensorStreamException(null, "a tensor's first frame must carry its name.");
        if (frame.Section.Length == 0) throw new TensorStreamException(frame.Name, "the first frame carries no section.");
        if (_sections.TryGetValue(frame.Section, out var existing) && existing.Contains(frame.Name))
            throw new TensorStreamException(frame.Name, "sent twice.");
        if (!SafetensorsDtype.TryParse(frame.Dtype, out var dtype, out var error))
            throw new TensorStreamException(frame.Name, $"dtype '{frame.Dtype}': {error}");
        if (frame.Shape.Any(d => d < 0)) throw new TensorStreamException(frame.Name, $"negative dimension in shape {Shape(frame.Shape)}.");
        long itemSize = SafetensorsDtype.ItemSize(dtype);
        long bytes;
        try
        {
            bytes = frame.Shape.Aggregate(itemSize, (n, d) => checked(n * d));
        }
        catch (OverflowException)
        {
            bytes = long.MaxValue;
        }
        if (bytes > maxTotalBytes - _totalBytes)
            throw new TensorStreamException(frame.Name, $"shape {Shape(frame.Shape)} ({frame.Dtype}) exceeds the {maxTotalBytes} bytes this stream may carry.");
        _totalBytes += bytes;
        var tensor = empty(frame.Shape.ToArray(), dtype);
        _pending = new Pending(frame.Section, frame.Name, frame.Dtype, tensor, tensor.view(-1), bytes, itemSize);
        return _pending;
    }

    private void Finish(Pending p, uint crc32)
    {
        _pending = null;
        p.Flat.Dispose();
        if (p.Received != p.ByteLength)
        {
            p.Tensor.Dispose();
            throw new TensorStreamException(p.Name, $"ended after {p.Received} of {p.ByteLength} bytes (truncated).");
        }
        if (p.Crc.GetCurrentHashAsUInt32() != crc32)
        {
            p.Tensor.Dispose();
            throw new TensorStreamException(p.Name, "checksum mismatch: the bytes were corrupted on the way.");
        }
        if (!_sections.TryGetValue(p.Section, out var section)) _sections[p.Section] = section = new NamedTensors();
        section.Add(p.Name, p.Tensor);
    }

    private static string Shape(IEnumerable<long> shape) => $"[{string.Join(",", shape)}]";

    public void Dispose()
    {
        if (_pending is { } p)
        {
            p.Flat.Dispose();
            p.Tensor.Dispose();
        }
        foreach (var s in _sections.Values) s.Dispose();
        _sections.Clear();
    }

    private sealed class Pending(string section, string name, string dtype, Tensor tensor, Tensor flat, long byteLength, long itemSize)
    {
        public string Section { get; } = section;
        public string Name { get; } = name;
        public string Dtype { get; } = dtype;
        public Tensor Tensor { get; } = tensor;
        public Tensor Flat { get; } = flat;
        public long ByteLength { get; } = byteLength;
        public long ItemSize { get; } = itemSize;
        public Crc32 Crc { get; } = new();
        public long Received { get; set; }
    }
}

/// <summary>
/// A tensor stream that cannot be trusted: truncated, corrupted, oversized or malformed. The message names the
/// tensor when one is at fault; a stream-level fault (a missing tensor count, an unannounced section) names none
/// rather than passing a section off as a tensor.
/// </summary>
internal sealed class TensorStreamException(string? tensor, string reason) : Exception(tensor is null ? reason : $"tensor '{tensor}': {reason}")
{
    public string? Tensor { get; } = tensor;
}
