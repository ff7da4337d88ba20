using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models;

/// <summary>
/// Hugging Face checkpoint folders (<c>model.safetensors</c>, or shards with <c>model.safetensors.index.json</c>)
/// loaded into and saved from TorchSharp modules by state-dict key.
/// </summary>
public static class Checkpoint
{
    /// <summary>
    /// Copies a checkpoint into <paramref name="module"/>'s existing parameters and buffers in place, so optimizers and
    /// LoRA wrappers that hold references to them keep working. All shard headers are validated and compared with the
    /// module first; on any mismatch nothing is copied and the exception names the first offending tensor.
    /// </summary>
    /// <param name="module">The module to fill.</param>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="ignore">Keys to leave out on both sides, e.g. <c>k =&gt; k.Contains(".lora_")</c> for adapter weights.</param>
    /// <param name="optionalKeys">Module keys the checkpoint may lack, e.g. <c>lm_head.weight</c> when embeddings are tied.</param>
    /// <returns>The checkpoint's tensors that <paramref name="ignore"/> left out, in file order.</returns>
    /// <exception cref="InvalidDataException">A file is corrupt, or the checkpoint does not fit the module.</exception>
    public static IReadOnlyList<string> LoadInto(nn.Module module, string folder, Func<string, bool>? ignore = null, IReadOnlySet<string>? optionalKeys = null)
    {
        var index = CheckpointIndex.Open(folder);
        var targets = module.state_dict().Where(kv => ignore?.Invoke(kv.Key) != true).ToList();
        CheckpointMatch.Verify(index, targets, ignore, optionalKeys);

        var byName = targets.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var file in index.Tensors.Where(t => byName.ContainsKey(t.Info.Name)).GroupBy(t => t.Header.Path))
        {
            using var handle = Safetensors.OpenRead(file.Key);
            foreach (var (header, info) in file)
            {
                using var source = Safetensors.ReadTensor(handle, header, info, device: null);
                byName[info.Name].copy_(source); // converts dtype and device as needed
            }
        }
        return index.Tensors.Where(t => ignore?.Invoke(t.Info.Name) == true).Select(t => t.Info.Name).ToList();
    }

    /// <summary>
    /// Saves <paramref name="module"/>'s state dict as a Hugging Face checkpoint in <paramref name="folder"/>, each file
    /// written atomically. Floating-point tensors are stored as <paramref name="dtype"/>; others keep their type.
    /// </summary>
    /// <param name="module">The module to save.</param>
    /// <param name="folder">Target folder, created if needed; files of an earlier save with another layout are removed.</param>
    /// <param name="dtype">Storage type for floating-point tensors (Float32, Float16, BFloat16 or Float64).</param>
    /// <param name="maxShardBytes">Largest shard size in bytes; 0 writes a single <c>model.safetensors</c>.</param>
    /// <param name="ignore">Keys to leave out, e.g. adapter tensors that are saved separately.</param>
    /// <param name="skipKeys">Exact keys to leave out, e.g. a tied <c>lm_head.weight</c>.</param>
    public static void Save(nn.Module module, string folder, ScalarType dtype = ScalarType.Float32, long maxShardBytes = 0, Func<string, bool>? ignore = null, IReadOnlySet<string>? skipKeys = null)
    {
        if (!SafetensorsDtype.IsFloat(dtype)) throw new ArgumentException($"Checkpoint dtype must be a floating-point type, not {dtype}.", nameof(dtype));
        ArgumentOutOfRangeException.ThrowIfNegative(maxShardBytes);
        var tensors = module.state_dict()
            .Where(kv => ignore?.Invoke(kv.Key) != true && skipKeys?.Contains(kv.Key) != true)
            .ToList();
        CheckpointWriter.Write(tensors, folder, dtype, maxShardBytes);
    }
}
