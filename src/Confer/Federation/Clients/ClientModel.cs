using Confer.Models;
using Confer.Peft;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Federation.Clients;

/// <summary>
/// The one model a process trains on, and the operations that put a strategy's state into it: the base is reset to
/// pretrained + merged ΔW (FLoRA), then the run's PEFT add-on (<see cref="Tuner"/>: LoRA, soft prompt or bottleneck
/// adapters) is attached fresh and filled from the task. Sharing one model between simulated clients keeps memory at
/// one model plus the selected clients' adapters.
/// <para>
/// Any module whose projections are <see cref="LoraLinear"/>s works with LoRA: a causal LM
/// (<see cref="CausalLanguageModel"/>) or an encoder with a classification head (FedCoT's discriminator). Parameters
/// named in <c>trainedParameters</c> (e.g. the head's <c>classifier.weight</c>) are trained in full and travel with the
/// adapter under their HF names, like PEFT's <c>modules_to_save</c>.
/// </para>
/// </summary>
public sealed class ClientModel : IDisposable
{
    private readonly List<(string Path, LoraLinear Layer)> _targets;
    private readonly Dictionary<string, Tensor> _pristine = new(StringComparer.Ordinal);
    private readonly List<(string Name, Parameter Parameter)> _trained;
    private readonly Dictionary<string, Tensor> _pristineTrained = new(StringComparer.Ordinal);

    /// <summary>A LoRA client model on the layers named by <paramref name="targetModules"/>.</summary>
    /// <param name="model">The model (the caller keeps ownership).</param>
    /// <param name="targetModules">Module names that get LoRA adapters (PEFT <c>target_modules</c>).</param>
    /// <param name="trainedParameters">HF names of parameters trained in full and sent with the adapter; none by default.</param>
    public ClientModel(nn.Module model, IReadOnlyList<string> targetModules, IReadOnlyList<string>? trainedParameters = null)
        : this(model, new LoraTuner(targetModules), trainedParameters)
    {
    }

    /// <param name="model">The model (the caller keeps ownership).</param>
    /// <param name="tuner">The run's PEFT method.</param>
    /// <param name="trainedParameters">HF names of parameters trained in full and sent with the adapter; none by default.</param>
    public ClientModel(nn.Module model, PeftTuner tuner, IReadOnlyList<string>? trainedParameters = null)
    {
        Model = model;
        Tuner = tuner;
        // Only LoRA ever changes base weights (FLoRA merges ΔW into them), so only its targets need pristine copies.
        _targets = tuner is LoraTuner lora ? [.. lora.Targets(model)] : [];
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        _trained = [.. (trainedParameters ?? []).Select(name => parameters.TryGetValue(name, out var p)
            ? (name, p)
            : throw new ArgumentException($"The model has no parameter '{name}' to train (its parameters are named like '{parameters.Keys.FirstOrDefault()}')."))];
        using var _ = no_grad();
        foreach (var (path, layer) in _targets) _pristine[path] = layer.Weight.detach().clone().DetachFromDisposeScope();
        foreach (var (name, p) in _trained) _pristineTrained[name] = p.detach().clone().DetachFromDisposeScope();
    }

    public nn.Module Model { get; }

    /// <summary>The model as a causal LM, for the trainers and evaluators that need one.</summary>
    /// <exception cref="InvalidOperationException">The model is not a causal language model.</exception>
    public CausalLanguageModel CausalLM =>
        Model as CausalLanguageModel ?? throw new InvalidOperationException($"The client model is a {Model.GetType().Name}, not a causal language model.");

    /// <summary>The run's PEFT method: what is attached, trained, sent and saved.</summary>
    public PeftTuner Tuner { get; }

    /// <summary>Module paths whose base weights a merged ΔW may change (LoRA targets), in model order.</summary>
    public IEnumerable<string> TargetPaths => _targets.Select(t => t.Path);

    /// <summary>HF names of the parameters trained in full (sent with the adapter).</summary>
    public IEnumerable<string> TrainedParameterNames => _trained.Select(t => t.Name);

    /// <summary>
    /// Removes every add-on and sets every targeted base weight to pretrained + <paramref name="mergedDelta"/> (missing
    /// keys = pretrained), and every fully trained parameter to its pretrained value. Always a full copy, so no earlier
    /// merge, rounding or training can leak into the next client.
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
        foreach (var (name, p) in _trained) p.copy_(_pristineTrained[name]);
    }

    /// <summary>
    /// Attaches the run's add-on: freshly initialised (seeded by <paramref name="generator"/>; LoRA at
    /// <paramref name="rank"/>), then overwritten by the tensors <paramref name="adapter"/> holds. Fully trained
    /// parameters take the adapter's values when it has them. Only add-on tensors and the fully trained parameters stay
    /// trainable.
    /// </summary>
    public void AttachAdapters(NamedTensors? adapter, int rank, double alpha, double dropout, Generator generator)
    {
        Tuner.Attach(Model, adapter, rank, alpha, dropout, generator);
        foreach (var (_, p) in _trained) p.requires_grad = true;
        if (adapter is null) return;
        using var _ = no_grad();
        AssignTrained(adapter);
    }

    /// <summary>Puts the global model (base + merged ΔW + the global add-on, LoRA at scale·B·A, and the global fully trained parameters) into the model, for evaluation or export.</summary>
    public void ApplyGlobal(NamedTensors mergedDelta, NamedTensors globalAdapter, double scale)
    {
        SetBase(mergedDelta);
        if (globalAdapter.Count == 0) return;
        using var g = new Generator(0);
        if (Tuner is not LoraTuner)
        {
            Tuner.Attach(Model, globalAdapter, 1, 1, 0, g);
        }
        else
        {
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
        using (no_grad()) AssignTrained(globalAdapter);
    }

    /// <summary>The trained add-on (fp32, CPU, under its PEFT keys) followed by the fully trained parameters under their HF names.</summary>
    public NamedTensors CaptureAdapter()
    {
        var adapter = Tuner.Capture(Model);
        using var _ = no_grad();
        foreach (var (name, p) in _trained)
        {
            using var detached = p.detach();
            adapter.Add(name, detached.to(ScalarType.Float32, CPU).clone());
        }
        return adapter;
    }

    /// <summary>
    /// What an adapter folder saved from this model records: the base model and LoRA's settings, and for a causal LM
    /// its shape (prompt learning's num_layers and num_attention_heads; an encoder has no prompt slots to describe).
    /// </summary>
    public AdapterFolderInfo FolderInfo(string? baseModel, double loraScale, double loraDropout, int loraRank) => Model is CausalLanguageModel lm
        ? AdapterFolderInfo.Of(lm, baseModel, loraScale, loraDropout, loraRank)
        : new AdapterFolderInfo(baseModel, loraScale, loraDropout, loraRank);

    /// <summary>Writes the model as a Hugging Face folder (config.json and weights, adapters excluded).</summary>
    /// <exception cref="InvalidOperationException">The model cannot save itself.</exception>
    public void SavePretrained(string folder)
    {
        if (Model is not IPretrainedModel savable)
            throw new InvalidOperationException($"A {Model.GetType().Name} cannot be saved as a pretrained model folder.");
        savable.SavePretrained(folder);
    }

    public void Dispose()
    {
        foreach (var t in _pristine.Values.Concat(_pristineTrained.Values)) t.Dispose();
        _pristine.Clear();
        _pristineTrained.Clear();
    }

    private void AssignTrained(NamedTensors source)
    {
        foreach (var (name, p) in _trained)
            if (source.TryGet(name, out var value)) p.copy_(value);
    }
}
