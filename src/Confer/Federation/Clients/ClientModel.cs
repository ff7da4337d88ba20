using Confer.Models;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Federation.Clients;

/// <summary>
/// The one model a process trains on, and the operations that put a strategy's state into it: the base is reset to
/// pretrained + merged ΔW (FLoRA), then the run's PEFT add-on (<see cref="Tuner"/>: LoRA, soft prompt or bottleneck
/// adapters) is attached fresh and filled from the task. Sharing one model between simulated clients keeps memory at
/// one model plus the selected clients' adapters.
/// </summary>
public sealed class ClientModel : IDisposable
{
    private readonly List<(string Path, LoraLinear Layer)> _targets;
    private readonly Dictionary<string, Tensor> _pristine = new(StringComparer.Ordinal);

    /// <summary>A LoRA client model on the layers named by <paramref name="targetModules"/>.</summary>
    public ClientModel(CausalLanguageModel model, IReadOnlyList<string> targetModules) : this(model, new LoraTuner(targetModules))
    {
    }

    public ClientModel(CausalLanguageModel model, PeftTuner tuner)
    {
        Model = model;
        Tuner = tuner;
        // Only LoRA ever changes base weights (FLoRA merges ΔW into them), so only its targets need pristine copies.
        _targets = tuner is LoraTuner lora ? [.. lora.Targets(model)] : [];
        using var _ = no_grad();
        foreach (var (path, layer) in _targets) _pristine[path] = layer.Weight.detach().clone().DetachFromDisposeScope();
    }

    public CausalLanguageModel Model { get; }

    /// <summary>The run's PEFT method: what is attached, trained, sent and saved.</summary>
    public PeftTuner Tuner { get; }

    /// <summary>Module paths whose base weights a merged ΔW may change (LoRA targets), in model order.</summary>
    public IEnumerable<string> TargetPaths => _targets.Select(t => t.Path);

    /// <summary>
    /// Removes every add-on and sets every targeted base weight to pretrained + <paramref name="mergedDelta"/> (missing
    /// keys = pretrained). Always a full copy, so no earlier merge or rounding can leak into the next client.
    /// </summary>
    public void SetBase(NamedTensors? mergedDelta)
    {
        Tuner.Detach(Model);
        using var _ = no_grad();
        foreach (var (path, layer) in _targets)
        {
            layer.Weight.copy_(_pristine[path]);
            if (mergedDelta is not null && mergedDelta.TryGet(LoraKeys.DenseWeight(path), out var delta)) layer.AddToWeight(delta);
        }
    }

    /// <summary>
    /// Attaches the run's add-on: freshly initialised (seeded by <paramref name="generator"/>; LoRA at
    /// <paramref name="rank"/>), then overwritten by the tensors <paramref name="adapter"/> holds. Only add-on tensors
    /// stay trainable.
    /// </summary>
    public void AttachAdapters(NamedTensors? adapter, int rank, double alpha, double dropout, Generator generator) =>
        Tuner.Attach(Model, adapter, rank, alpha, dropout, generator);

    /// <summary>Puts the global model (base + merged ΔW + the global add-on, LoRA at scale·B·A) into the model, for evaluation or export.</summary>
    public void ApplyGlobal(NamedTensors mergedDelta, NamedTensors globalAdapter, double scale)
    {
        SetBase(mergedDelta);
        if (globalAdapter.Count == 0) return;
        using var g = new Generator(0);
        if (Tuner is not LoraTuner)
        {
            Tuner.Attach(Model, globalAdapter, 1, 1, 0, g);
            return;
        }
        // alpha = scale · rank for each module's own rank; dropout is irrelevant outside training; a module without
        // tensors in the global adapter gets none (a fresh one would only cost compute).
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

    /// <summary>The trained add-on (fp32, CPU, under its PEFT keys).</summary>
    public NamedTensors CaptureAdapter() => Tuner.Capture(Model);

    /// <summary>What an adapter folder saved from this model records (its shape, the base model, LoRA's settings).</summary>
    public AdapterFolderInfo FolderInfo(string? baseModel, double loraScale, double loraDropout, int loraRank) =>
        AdapterFolderInfo.Of(Model, baseModel, loraScale, loraDropout, loraRank);

    public void Dispose()
    {
        foreach (var t in _pristine.Values) t.Dispose();
        _pristine.Clear();
    }
}
