using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Peft;

/// <summary>Shared steps of the tuners whose tensors live in slots of the model (soft prompt, bottleneck adapters).</summary>
internal static class PeftAddOns
{
    /// <summary>Every module of <typeparamref name="T"/> in <paramref name="model"/> with its path, in model order.</summary>
    public static List<(string Path, T Module)> Slots<T>(CausalLanguageModel model) where T : class =>
        [.. model.named_modules().Where(m => m.module is T).Select(m => (m.name, (T)(object)m.module))];

    /// <summary>
    /// Copies the values <paramref name="source"/> holds into the attached parameters (<paramref name="expected"/>, by
    /// key); a key the model does not have, or a shape that differs, is an error naming the tensor, and then nothing is
    /// copied. With <paramref name="requireAll"/> every expected key must be present (loading a saved adapter);
    /// otherwise a missing key keeps its fresh initialisation (a task that starts one part anew).
    /// </summary>
    public static void Assign(IReadOnlyList<(string Key, Tensor Parameter)> expected, NamedTensors source, string where, bool requireAll)
    {
        var byKey = expected.ToDictionary(e => e.Key, e => e.Parameter, StringComparer.Ordinal);
        if (source.Names.FirstOrDefault(n => !byKey.ContainsKey(n)) is { } unknown)
            throw new InvalidDataException($"{where}: tensor '{unknown}' matches no attached parameter (expected keys like '{expected.Select(e => e.Key).FirstOrDefault()}').");
        var copies = new List<(Tensor Parameter, Tensor Value)>();
        foreach (var (key, parameter) in expected)
        {
            if (!source.TryGet(key, out var value))
            {
                if (requireAll) throw new InvalidDataException($"{where}: tensor '{key}' is missing.");
                continue;
            }
            if (!value.shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException($"{where}: tensor '{key}' has shape [{string.Join(",", value.shape)}], the model expects [{string.Join(",", parameter.shape)}].");
            copies.Add((parameter, value));
        }
        using var _ = no_grad();
        foreach (var (parameter, value) in copies) parameter.copy_(value);
    }

    /// <summary>A detached fp32 CPU copy of each tensor, under its key.</summary>
    public static NamedTensors Capture(IEnumerable<(string Key, Tensor Parameter)> tensors)
    {
        var result = new NamedTensors();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (key, parameter) in tensors) result.Add(key, parameter.detach().to(ScalarType.Float32, CPU).clone());
        return result;
    }
}
