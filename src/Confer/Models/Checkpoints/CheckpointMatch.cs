using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Models.Checkpoints;

/// <summary>
/// Compares a checkpoint's tensors with a module's state dict before anything is copied: every expected key present,
/// no unexpected key, identical shapes, and dtypes that are equal or both floating point (floats convert on copy).
/// The exception names the first problem and what to do about it, and counts the rest.
/// </summary>
internal static class CheckpointMatch
{
    public static void Verify(CheckpointIndex index, IReadOnlyList<KeyValuePair<string, Tensor>> targets, Func<string, bool>? ignore, IReadOnlySet<string>? optionalKeys)
    {
        var problems = new List<string>();
        var targetNames = new HashSet<string>(targets.Select(t => t.Key), StringComparer.Ordinal);
        foreach (var (name, target) in targets)
        {
            if (!index.ByName.TryGetValue(name, out var found))
            {
                if (optionalKeys?.Contains(name) != true)
                    problems.Add($"tensor '{name}' (model shape {ShapeText(target.shape)}, {target.dtype}) is missing from the checkpoint. " +
                                 "The checkpoint is for a different architecture or config; if this weight is tied to another (lm_head to embed_tokens), pass it in optionalKeys");
                continue;
            }
            var (header, info) = found;
            if (!info.Shape.SequenceEqual(target.shape))
                problems.Add($"tensor '{name}' in '{header.Path}' has shape {info.ShapeText} but the model expects {ShapeText(target.shape)}. " +
                             "Check that config.json (hidden_size, intermediate_size, vocab_size, heads, layers) matches the checkpoint");
            else if (info.ScalarType != target.dtype && !(SafetensorsDtype.IsFloat(info.ScalarType) && SafetensorsDtype.IsFloat(target.dtype)))
                problems.Add($"tensor '{name}' in '{header.Path}' is {info.Dtype} but the model expects {target.dtype}. " +
                             "Only floating-point tensors convert on load; integer and bool tensors must match exactly, so the file was written for a different model");
        }
        foreach (var (header, info) in index.Tensors)
        {
            if (ignore?.Invoke(info.Name) == true || targetNames.Contains(info.Name)) continue;
            problems.Add($"tensor '{info.Name}' in '{header.Path}' is not a parameter or buffer of the model. " +
                         "The checkpoint is for a different architecture or config, or the key should be ignored (e.g. adapter tensors)");
        }
        if (problems.Count == 0) return;
        string more = problems.Count > 1 ? $" ({problems.Count - 1} more problem(s) after this one.)" : "";
        throw new InvalidDataException($"Checkpoint '{index.Folder}' does not fit the model: {problems[0]}.{more} The model was left unchanged.");
    }

    private static string ShapeText(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
