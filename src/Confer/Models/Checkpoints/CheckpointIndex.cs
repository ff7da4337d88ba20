using System.Text.Json;
using Confer.Models.Safetensors;

namespace Confer.Models.Checkpoints;

/// <summary>
/// Where each tensor of a Hugging Face checkpoint folder lives: one <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c> (<c>weight_map</c>: name → shard file). Opening it reads and validates every
/// shard's header, so a bad shard is found before any weight is copied.
/// </summary>
internal sealed class CheckpointIndex
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private CheckpointIndex(string folder, IReadOnlyList<(SafetensorsHeader Header, SafetensorsTensorInfo Info)> tensors)
    {
        Folder = folder;
        Tensors = tensors;
        ByName = tensors.ToDictionary(t => t.Info.Name, StringComparer.Ordinal);
    }

    public string Folder { get; }

    /// <summary>Every tensor with the validated header of the file that holds it, grouped by file, in file order.</summary>
    public IReadOnlyList<(SafetensorsHeader Header, SafetensorsTensorInfo Info)> Tensors { get; }

    public IReadOnlyDictionary<string, (SafetensorsHeader Header, SafetensorsTensorInfo Info)> ByName { get; }

    public static CheckpointIndex Open(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Checkpoint folder '{folder}' does not exist.");
        string single = Path.Combine(folder, SingleFileName);
        if (File.Exists(single))
        {
            var header = SafetensorsFile.ReadHeader(single);
            return new CheckpointIndex(folder, header.Tensors.Select(t => (header, t)).ToList());
        }
        string index = Path.Combine(folder, IndexFileName);
        if (!File.Exists(index))
            throw new FileNotFoundException($"Checkpoint folder '{folder}' has neither '{SingleFileName}' nor '{IndexFileName}'. Point at the folder that holds the model weights (a Hugging Face model folder).", single);
        return OpenSharded(folder, index);
    }

    private static CheckpointIndex OpenSharded(string folder, string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var headers = new Dictionary<string, SafetensorsHeader>(StringComparer.Ordinal);
        foreach (string shard in weightMap.Values.Distinct(StringComparer.Ordinal))
        {
            if (shard.Contains('/') || shard.Contains('\\') || shard is "." or "..")
                throw new InvalidDataException($"Index '{indexPath}' names shard '{shard}', which is not a plain file name in the checkpoint folder.");
            string path = Path.Combine(folder, shard);
            if (!File.Exists(path)) throw new FileNotFoundException($"Index '{indexPath}' lists shard '{shard}', which is missing from '{folder}'. Copy the complete checkpoint.", path);
            headers[shard] = SafetensorsFile.ReadHeader(path);
        }

        var tensors = new List<(SafetensorsHeader, SafetensorsTensorInfo)>();
        foreach (var (shard, header) in headers)
        {
            foreach (var info in header.Tensors)
            {
                // Tensors a shard holds but the index does not list are not part of the checkpoint (HF ignores them too).
                if (weightMap.TryGetValue(info.Name, out var mapped) && mapped == shard) tensors.Add((header, info));
            }
        }
        foreach (var (name, shard) in weightMap)
        {
            if (!headers[shard].TryGet(name, out _))
                throw new InvalidDataException($"Index '{indexPath}' maps tensor '{name}' to '{shard}', but that shard does not contain it. The index and shards are from different saves.");
        }
        return new CheckpointIndex(folder, tensors);
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"Index '{indexPath}' has no 'weight_map' object.");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"Index '{indexPath}': weight_map entry for tensor '{entry.Name}' is not a file name.");
                if (!result.TryAdd(entry.Name, entry.Value.GetString()!))
                    throw new InvalidDataException($"Index '{indexPath}': tensor '{entry.Name}' is listed twice in weight_map.");
            }
            return result;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Index '{indexPath}' is not valid JSON ({e.Message}).", e);
        }
    }
}
