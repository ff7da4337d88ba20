using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Confer.Models.Safetensors;

/// <summary>
/// The parsed and fully validated header of a safetensors file. Reading it costs one small read, so callers can
/// check every tensor of a (sharded) checkpoint before committing to load any data.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>Headers larger than this are rejected, as the reference implementation does (100 MB).</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    private SafetensorsHeader(string path, long dataStart, IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        DataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Path { get; }

    /// <summary>Absolute file offset of the data section (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>The tensors in file (offset) order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> string map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public bool TryGet(string name, out SafetensorsTensorInfo info) => _byName.TryGetValue(name, out info!);

    internal static SafetensorsHeader Read(string path, SafeFileHandle handle)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8) throw Error(path, $"the file is {fileLength} bytes, shorter than the 8-byte header length prefix; it is truncated or not a safetensors file");
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(handle, prefix, 0, path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes) throw Error(path, $"the header claims {headerLength} bytes, more than the {MaxHeaderBytes}-byte limit; the file is corrupt or not a safetensors file");
        if ((long)headerLength > fileLength - 8) throw Error(path, $"the header claims {headerLength} bytes but only {fileLength - 8} follow the prefix; the file is truncated");

        var json = new byte[headerLength];
        ReadExactly(handle, json, 8, path);
        long dataStart = 8 + (long)headerLength;
        var (tensors, metadata) = Parse(path, json);
        Validate(path, tensors, fileLength - dataStart);
        return new SafetensorsHeader(path, dataStart, tensors, metadata);
    }

    private static (List<SafetensorsTensorInfo>, Dictionary<string, string>) Parse(string path, byte[] json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw Error(path, $"the header is not valid UTF-8 JSON ({e.Message}); the file is corrupt", e);
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Error(path, "the header is not a JSON object");

        var tensors = new List<SafetensorsTensorInfo>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(entry.Name)) throw Error(path, $"key '{entry.Name}' appears twice in the header");
            if (entry.Name == "__metadata__") ParseMetadata(path, entry.Value, metadata);
            else tensors.Add(ParseTensor(path, entry.Name, entry.Value));
        }
        return (tensors, metadata);
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Error(path, "'__metadata__' must be an object of strings");
        foreach (var kv in value.EnumerateObject())
        {
            if (kv.Value.ValueKind != JsonValueKind.String) throw Error(path, $"'__metadata__' value for '{kv.Name}' is not a string");
            metadata[kv.Name] = kv.Value.GetString()!;
        }
    }

    private static SafetensorsTensorInfo ParseTensor(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object) throw TensorError(path, name, "its header entry is not an object");
        if (!value.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw TensorError(path, name, "'dtype' is missing or not a string");
        if (!value.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw TensorError(path, name, "'shape' is missing or not an array");
        if (!value.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw TensorError(path, name, "'data_offsets' is missing or not a [begin, end] pair");

        string dtype = dtypeEl.GetString()!;
        if (!SafetensorsDtype.TryParse(dtype, out var type, out var dtypeError)) throw TensorError(path, name, dtypeError!);
        var shape = shapeEl.EnumerateArray().Select(d => NonNegative(path, name, "shape", d)).ToArray();
        long begin = NonNegative(path, name, "data_offsets", offEl[0]);
        long end = NonNegative(path, name, "data_offsets", offEl[1]);
        return new SafetensorsTensorInfo(name, dtype, type, shape, begin, end);
    }

    private static long NonNegative(string path, string name, string field, JsonElement e) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long v) && v >= 0
            ? v
            : throw TensorError(path, name, $"'{field}' holds {e.GetRawText()}, not a non-negative integer");

    /// <summary>Offsets must tile the data section exactly, in order, and agree with shape × item size.</summary>
    private static void Validate(string path, List<SafetensorsTensorInfo> tensors, long dataLength)
    {
        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expectedBegin = 0;
        foreach (var t in tensors)
        {
            if (t.Begin != expectedBegin || t.End < t.Begin)
                throw TensorError(path, t.Name, $"data_offsets [{t.Begin}, {t.End}] are not contiguous with the previous tensor (expected to begin at {expectedBegin})");
            long bytes;
            try
            {
                bytes = checked(t.Shape.Aggregate(1L, (a, b) => a * b) * SafetensorsDtype.ItemSize(t.ScalarType));
            }
            catch (OverflowException)
            {
                throw TensorError(path, t.Name, $"shape {t.ShapeText} overflows");
            }
            if (bytes != t.ByteCount)
                throw TensorError(path, t.Name, $"shape {t.ShapeText} × {t.Dtype} needs {bytes} bytes but data_offsets [{t.Begin}, {t.End}] span {t.ByteCount}");
            if (t.End > dataLength)
                throw TensorError(path, t.Name, $"data ends at {t.End} but the data section has only {dataLength} bytes; the file is truncated");
            expectedBegin = t.End;
        }
        if (expectedBegin != dataLength)
            throw Error(path, $"the tensors cover {expectedBegin} bytes but the data section has {dataLength}; the file has trailing bytes or a missing tensor");
    }

    internal static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        while (!buffer.IsEmpty)
        {
            int n = RandomAccess.Read(handle, buffer, offset);
            if (n == 0) throw Error(path, $"unexpected end of file at byte {offset}; the file is truncated");
            buffer = buffer[n..];
            offset += n;
        }
    }

    internal static InvalidDataException Error(string path, string problem, Exception? inner = null) =>
        new($"Invalid safetensors file '{path}': {problem}.", inner);

    internal static InvalidDataException TensorError(string path, string tensor, string problem) =>
        new($"Invalid safetensors file '{path}', tensor '{tensor}': {problem}.");
}
