using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using static TorchSharp.torch;
using Confer.Runtime;

namespace Confer.Models.Safetensors;

/// <summary>
/// Serialises tensors exactly as the reference <c>safetensors</c> library does: tensors sorted by dtype alignment
/// (descending) then name, compact JSON with <c>__metadata__</c> first, header padded with spaces to a multiple of
/// 8 bytes so every tensor's data is aligned. Identical input gives byte-identical files, which keeps checksums
/// and content hashes stable across peers and languages.
/// </summary>
internal static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var entries = tensors.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in entries)
        {
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor.", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"Duplicate tensor name '{name}'.", nameof(tensors));
            SafetensorsDtype.Name(tensor.dtype); // throws for unsupported types before anything is written
        }
        entries.Sort((a, b) =>
        {
            int byRank = SafetensorsDtype.WriteRank(b.Value.dtype).CompareTo(SafetensorsDtype.WriteRank(a.Value.dtype));
            return byRank != 0 ? byRank : string.CompareOrdinal(a.Key, b.Key);
        });

        byte[] header = BuildHeader(entries, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            foreach (var (_, tensor) in entries)
            {
                using var scope = NewDisposeScope();
                TensorBytes.Write(stream, tensor.detach().cpu().contiguous());
            }
        });
    }

    internal static byte[] BuildHeader(IReadOnlyList<KeyValuePair<string, Tensor>> sorted, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        if (metadata is { Count: > 0 })
        {
            json.Append("\"__metadata__\":{");
            bool firstMeta = true;
            foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (!firstMeta) json.Append(',');
                firstMeta = false;
                AppendString(json, key).Append(':');
                AppendString(json, value);
            }
            json.Append('}');
            if (sorted.Count > 0) json.Append(',');
        }
        long offset = 0;
        for (int i = 0; i < sorted.Count; i++)
        {
            var (name, tensor) = sorted[i];
            long bytes = tensor.numel() * SafetensorsDtype.ItemSize(tensor.dtype);
            if (i > 0) json.Append(',');
            AppendString(json, name).Append(":{\"dtype\":\"").Append(SafetensorsDtype.Name(tensor.dtype)).Append("\",\"shape\":[");
            json.AppendJoin(',', tensor.shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            json.Append("],\"data_offsets\":[").Append(offset).Append(',').Append(offset + bytes).Append("]}");
            offset += bytes;
        }
        json.Append('}');
        int length = Encoding.UTF8.GetByteCount(json.ToString());
        json.Append(' ', (8 - length % 8) % 8);
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    /// <summary>A JSON string escaped the way serde_json does: only quote, backslash and control characters.</summary>
    private static StringBuilder AppendString(StringBuilder json, string s)
    {
        json.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case < ' ': json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: json.Append(c); break;
            }
        }
        return json.Append('"');
    }
}
