using Confer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Peft;

/// <summary>
/// Attaches LoRA adapters to the <see cref="LoraLinear"/> layers of a model chosen by target-module names, freezes
/// everything else, and exposes the adapter as a flat, ordered <see cref="NamedTensors"/> view under PEFT key names —
/// the unit that federated clients send and servers aggregate.
/// </summary>
public static class LoraModel
{
    /// <summary>
    /// Attaches fresh adapters (PEFT init: A uniform, B zero) to every targeted layer, at per-module ranks from the
    /// config, and makes only adapter tensors trainable. Returns the adapted module paths in model order.
    /// </summary>
    public static IReadOnlyList<string> Attach(nn.Module model, LoraConfig config, Generator? generator = null)
    {
        config.Validate();
        if (config.TargetsAllLinear) RequireNoOtherLinear(model);
        var adapted = new List<string>();
        foreach (var (path, layer) in Layers(model))
        {
            if (!config.Targets(path)) continue;
            layer.AttachAdapter(config.RankFor(path), config.AlphaFor(path), config.Dropout, generator, config.UseRsLora);
            adapted.Add(path);
        }
        if (adapted.Count == 0)
        {
            string targets = config.TargetModulesPattern ?? "[" + string.Join(", ", config.TargetModules) + "]";
            throw new ArgumentException(
                $"No layer matches target_modules {targets}; linear layers are named like '{Layers(model).Select(l => l.Path).FirstOrDefault()}'.");
        }
        FreezeAllButAdapters(model);
        return adapted;
    }

    /// <summary>
    /// PEFT's "all-linear" adapts every linear layer except the output layer (lm_head). Confer's LoRA-capable layers are
    /// exactly the projections, so the two agree unless the model has another plain linear layer (BERT's pooler and
    /// heads), which PEFT would adapt and Confer cannot.
    /// </summary>
    private static void RequireNoOtherLinear(nn.Module model)
    {
        var other = model.named_modules()
            .Where(m => m.module is TorchSharp.Modules.Linear && !m.name.Contains(".lora_", StringComparison.Ordinal) && !m.name.StartsWith("lora_", StringComparison.Ordinal) && m.name != "lm_head")
            .Select(m => m.name).FirstOrDefault();
        if (other is not null)
            throw new NotSupportedException(
                $"target_modules \"all-linear\" would also adapt '{other}' in PEFT, which Confer cannot adapt; list the target modules instead.");
    }

    /// <summary>Removes every adapter (unmerging first), leaving the base model.</summary>
    public static void Detach(nn.Module model)
    {
        foreach (var (_, layer) in Layers(model)) layer.DetachAdapter();
    }

    public static void Merge(nn.Module model)
    {
        foreach (var (_, layer) in Layers(model)) layer.Merge();
    }

    public static void Unmerge(nn.Module model)
    {
        foreach (var (_, layer) in Layers(model)) layer.Unmerge();
    }

    /// <summary>All LoRA-capable layers with their HF module paths, in model order.</summary>
    public static IEnumerable<(string Path, LoraLinear Layer)> Layers(nn.Module model)
    {
        foreach (var (name, module) in model.named_modules())
            if (module is LoraLinear layer) yield return (name, layer);
    }

    /// <summary>Only <c>lora_A</c>/<c>lora_B</c> tensors keep <c>requires_grad</c>.</summary>
    public static void FreezeAllButAdapters(nn.Module model)
    {
        foreach (var (name, p) in model.named_parameters())
            p.requires_grad = name.Contains(".lora_A.", StringComparison.Ordinal) || name.Contains(".lora_B.", StringComparison.Ordinal);
    }

    /// <summary>
    /// A detached fp32 CPU copy of the adapter tensors keyed by PEFT names, in model order (A then B per layer).
    /// </summary>
    public static NamedTensors Capture(nn.Module model)
    {
        var result = new NamedTensors();
        using var _ = no_grad();
        using var scope = NewDisposeScope(); // frees the detached views and conversions; Add keeps only the copies
        foreach (var (path, layer) in Layers(model))
        {
            if (!layer.HasAdapter) continue;
            result.Add(LoraKeys.A(path), layer.LoraA.detach().to(ScalarType.Float32, CPU).clone());
            result.Add(LoraKeys.B(path), layer.LoraB.detach().to(ScalarType.Float32, CPU).clone());
        }
        return result;
    }

    /// <summary>
    /// Copies adapter values into the model in place. Every adapted layer must be present with the same shape; an
    /// unknown key, a missing layer or a shape mismatch is an error naming the tensor, and nothing is copied.
    /// </summary>
    public static void Assign(nn.Module model, NamedTensors adapter, string source = "adapter")
    {
        var targets = new List<(Tensor Param, Tensor Value)>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, layer) in Layers(model))
        {
            if (!layer.HasAdapter) continue;
            foreach (var (key, param) in new[] { (LoraKeys.A(path), layer.LoraA), (LoraKeys.B(path), layer.LoraB) })
            {
                expected.Add(key);
                if (!adapter.TryGet(key, out var value))
                    throw new InvalidDataException($"{source}: missing tensor '{key}' for adapted layer '{path}'.");
                if (!value.shape.SequenceEqual(param.shape))
                    throw new InvalidDataException(
                        $"{source}: tensor '{key}' has shape [{string.Join(",", value.shape)}] but the model expects [{string.Join(",", param.shape)}] (check the LoRA rank).");
                targets.Add((param, value));
            }
        }
        var unexpected = adapter.Names.FirstOrDefault(n => !expected.Contains(n));
        if (unexpected is not null)
            throw new InvalidDataException($"{source}: tensor '{unexpected}' does not match any adapted layer of the model.");
        using var _ = no_grad();
        foreach (var (param, value) in targets) param.copy_(value);
    }
}
