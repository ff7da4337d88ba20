using Confer.Models;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Federation.Clients;

/// <summary>
/// The one model a process trains on, and the operations that put a strategy's state into it: the base is reset to
/// pretrained + merged ΔW (FLoRA), then adapters are attached fresh and filled from the task. Sharing one model
/// between simulated clients keeps memory at one model plus the selected clients' adapters.
/// </summary>
public sealed class ClientModel : IDisposable
{
    private readonly List<(string Path, LoraLinear Layer)> _targets;
    private readonly Dictionary<string, Tensor> _pristine = new(StringComparer.Ordinal);

    public ClientModel(CausalLanguageModel model, IReadOnlyList<string> targetModules)
    {
        Model = model;
        var targeting = new LoraConfig { TargetModules = [.. targetModules] };
        _targets = LoraModel.Layers(model).Where(l => targeting.Targets(l.Path)).ToList();
        if (_targets.Count == 0)
            throw new ArgumentException($"No layer of the model matches lora_targets [{string.Join(", ", targetModules)}].");
        using var _ = no_grad();
        foreach (var (path, layer) in _targets) _pristine[path] = layer.Weight.detach().clone().DetachFromDisposeScope();
    }

    public CausalLanguageModel Model { get; }

    /// <summary>Module paths that carry adapters, in model order.</summary>
    public IEnumerable<string> TargetPaths => _targets.Select(t => t.Path);

    /// <summary>
    /// Removes adapters and sets every targeted base weight to pretrained + <paramref name="mergedDelta"/> (missing keys =
    /// pretrained). Always a full copy, so no earlier merge or rounding can leak into the next client.
    /// </summary>
    public void SetBase(NamedTensors? mergedDelta)
    {
        using var _ = no_grad();
        foreach (var (path, layer) in _targets)
        {
            layer.DetachAdapter();
            layer.Weight.copy_(_pristine[path]);
            if (mergedDelta is not null && mergedDelta.TryGet(LoraKeys.DenseWeight(path), out var delta)) layer.AddToWeight(delta);
        }
    }

    /// <summary>
    /// Attaches an adapter to every targeted layer: freshly PEFT-initialised at <paramref name="rank"/> (seeded by
    /// <paramref name="generator"/>), then overwritten by the tensors <paramref name="adapter"/> has for that layer.
    /// Only adapter tensors stay trainable.
    /// </summary>
    public void AttachAdapters(NamedTensors? adapter, int rank, double alpha, double dropout, Generator generator)
    {
        foreach (var (path, layer) in _targets)
        {
            var moduleRank = adapter is not null && adapter.TryGet(LoraKeys.A(path), out var a) ? (int)a.shape[0] : rank;
            layer.AttachAdapter(moduleRank, alpha * moduleRank / rank, dropout, generator);
        }
        LoraModel.FreezeAllButAdapters(Model);
        if (adapter is null) return;
        using var _ = no_grad();
        foreach (var (path, layer) in _targets)
        {
            if (adapter.TryGet(LoraKeys.A(path), out var a)) layer.LoraA.copy_(a);
            if (adapter.TryGet(LoraKeys.B(path), out var b)) layer.LoraB.copy_(b);
        }
    }

    /// <summary>Puts the global model (base + merged ΔW + scale·B·A) into the model, for evaluation or export.</summary>
    public void ApplyGlobal(NamedTensors mergedDelta, NamedTensors globalAdapter, double scale)
    {
        SetBase(mergedDelta);
        if (globalAdapter.Count == 0) return;
        // alpha = scale · rank for each module's own rank; dropout is irrelevant outside training.
        using var g = new Generator(0);
        foreach (var (path, layer) in _targets)
        {
            if (!globalAdapter.TryGet(LoraKeys.A(path), out var a)) continue;
            var r = (int)a.shape[0];
            layer.AttachAdapter(r, scale * r, 0, g);
            using var _ = no_grad();
            layer.LoraA.copy_(a);
            layer.LoraB.copy_(globalAdapter[LoraKeys.B(path)]);
        }
    }

    /// <summary>The trained adapter (fp32, CPU, PEFT keys).</summary>
    public NamedTensors CaptureAdapter() => LoraModel.Capture(Model);

    public void Dispose()
    {
        foreach (var t in _pristine.Values) t.Dispose();
        _pristine.Clear();
    }
}
