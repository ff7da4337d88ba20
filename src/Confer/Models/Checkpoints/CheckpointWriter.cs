using System.Text.Json;
using System.Text.RegularExpressions;
using static TorchSharp.torch;
using Confer.Runtime;
using Confer.Models.Safetensors;

namespace Confer.Models.Checkpoints;

/// <summary>
/// Writes a module's tensors as a Hugging Face checkpoint: one <c>model.safetensors</c>, or shards
/// <c>model-0000i-of-0000N.safetensors</c> plus <c>model.safetensors.index.json</c>, split the way transformers
/// splits them (in state-dict order, a new shard whenever the next tensor would overflow the limit).
/// </summary>
internal static partial class CheckpointWriter
{
    private static readonly Dictionary<string, string> PtFormat = new() { ["format"] = "pt" };

    public static void Write(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, string folder, ScalarType dtype, long maxShardBytes)
    {
        Directory.CreateDirectory(folder);
        var shards = Plan(tensors, dtype, maxShardBytes);
        var written = new HashSet<string>(StringComparer.Ordinal);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            string file = shards.Count == 1 ? CheckpointIndex.SingleFileName : $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            using (var scope = NewDisposeScope())
            {
                // Convert one shard at a time so a dtype change never holds a second copy of the whole model.
                var converted = shards[i].Select(kv => KeyValuePair.Create(kv.Key, Convert(kv.Value, dtype))).ToList();
                SafetensorsFile.Save(Path.Combine(folder, file), converted, PtFormat);
            }
            written.Add(file);
            foreach (var (name, _) in shards[i]) weightMap[name] = file;
        }
        if (shards.Count > 1)
        {
            long totalSize = tensors.Sum(kv => ByteCount(kv.Value, dtype));
            AtomicFile.WriteAllBytes(Path.Combine(folder, CheckpointIndex.IndexFileName), IndexJson(totalSize, weightMap));
            written.Add(CheckpointIndex.IndexFileName);
        }
        RemoveStaleFiles(folder, written);
    }

    private static List<List<KeyValuePair<string, Tensor>>> Plan(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, ScalarType dtype, long maxShardBytes)
    {
        var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
        long current = 0;
        foreach (var kv in tensors)
        {
            long bytes = ByteCount(kv.Value, dtype);
            if (maxShardBytes > 0 && shards[^1].Count > 0 && current + bytes > maxShardBytes)
            {
                shards.Add(new());
                current = 0;
            }
            shards[^1].Add(kv);
            current += bytes;
        }
        return shards;
    }

    private static Tensor Convert(Tensor t, ScalarType dtype) =>
        SafetensorsDtype.IsFloat(t.dtype) ? t.detach().to(dtype) : t.detach();

    private static long ByteCount(Tensor t, ScalarType dtype) =>
        t.numel() * SafetensorsDtype.ItemSize(SafetensorsDtype.IsFloat(t.dtype) ? dtype : t.dtype);

    /// <summary>The index as transformers writes it: <c>{"metadata": {"total_size": n}, "weight_map": {...}}</c>, keys sorted.</summary>
    private static byte[] IndexJson(long totalSize, SortedDictionary<string, string> weightMap)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", totalSize);
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (name, file) in weightMap) json.WriteString(name, file);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>
    /// Files from an earlier save with a different layout would be picked up by a loader (a single file wins over an
    /// index) or mix two saves, so they go once the new files are complete.
    /// </summary>
    private static void RemoveStaleFiles(string folder, HashSet<string> written)
    {
        foreach (string path in Directory.EnumerateFiles(folder))
        {
            string name = Path.GetFileName(path);
            bool ours = name is CheckpointIndex.SingleFileName or CheckpointIndex.IndexFileName || ShardName().IsMatch(name);
            if (ours && !written.Contains(name)) File.Delete(path);
        }
    }

    [GeneratedRegex(@"^model-\d{5}-of-\d{5}\.safetensors$")]
    private static partial Regex ShardName();
}
