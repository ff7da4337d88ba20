using Confer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Peft.Bottleneck;

/// <summary>
/// Bottleneck adapters (FedAdapter, algorithms.md §9) in the decoder layers' <see cref="BottleneckAdapter"/> slots:
/// after attention and MLP (Houlsby) or after the MLP only (Pfeiffer), in every layer or the top
/// <paramref name="topLayers"/> (FedAdapter's depth). Federated under the keys
/// <c>base_model.model.&lt;layer&gt;.&lt;attn|mlp&gt;_adapter.&lt;down|up&gt;.&lt;weight|bias&gt;</c> and averaged
/// with p_k like every other trainable tensor; saved as a <see cref="BottleneckConfig"/> folder.
/// </summary>
public sealed class BottleneckTuner(int size, AdapterPlacement placement, AdapterActivation activation, int topLayers) : PeftTuner
{
    private const string Mlp = "mlp_adapter";

    public override PeftMethod Method => PeftMethod.Adapter;

    public int Size { get; } = size >= 1 ? size : throw new ArgumentOutOfRangeException(nameof(size), size, "adapter_size must be ≥ 1.");

    public override void Attach(nn.Module module, NamedTensors? start, int rank, double alpha, double dropout, Generator generator)
    {
        var model = CausalLM(module);
        var slots = Chosen(model, placement, LayerIndices(model));
        var table = model.InputEmbeddings.weight!;
        foreach (var (_, slot) in slots) slot.Attach(table.shape[1], Size, activation, table.dtype, table.device, generator);
        FreezeAllBut(model, PeftKeys.IsAddOnParameter);
        if (start is not null) PeftAddOns.Assign(Keyed(slots), start, "bottleneck-adapter task", requireAll: false);
    }

    public override void Detach(nn.Module module)
    {
        var model = CausalLM(module);
        foreach (var (_, slot) in PeftAddOns.Slots<BottleneckAdapter>(model)) slot.Detach();
    }

    public override NamedTensors Capture(nn.Module module) =>
        PeftAddOns.Capture(Keyed(PeftAddOns.Slots<BottleneckAdapter>(CausalLM(module)).Where(s => s.Module.IsAttached).ToList()));

    public override void Save(string folder, NamedTensors tensors, AdapterFolderInfo info)
    {
        var downKey = tensors.Names.FirstOrDefault(n => n.EndsWith(".down.weight", StringComparison.Ordinal))
                      ?? throw new ArgumentException("The adapter holds no bottleneck tensors.", nameof(tensors));
        var layers = tensors.Names.Select(LayerOf).Distinct().ToList();
        var config = new BottleneckConfig
        {
            BaseModelNameOrPath = BaseModelName.Of(info.BaseModel), HiddenSize = (int)tensors[downKey].shape[1], BottleneckSize = (int)tensors[downKey].shape[0],
            Placement = placement.ToString().ToLowerInvariant(), NonLinearity = activation.ToString().ToLowerInvariant(),
            LayersToTransform = info.Layers is { } all && layers.Count == all ? null : layers,
        };
        PeftAdapter.Write(folder, tensors, config.ToJson());
    }

    /// <summary>Attaches the adapters saved in a bottleneck folder to <paramref name="model"/>.</summary>
    public static BottleneckConfig Load(string folder, CausalLanguageModel model)
    {
        var config = BottleneckConfig.Load(Path.Combine(folder, PeftAdapter.ConfigFile));
        var d = model.InputEmbeddings.weight!.shape[1];
        if (config.HiddenSize != d)
            throw new InvalidDataException($"{folder}: hidden_size {config.HiddenSize} does not match the model's {d}; the adapters were trained for another model.");
        if ((config.LayersToTransform ?? []).Where(l => l >= model.LayerCount).ToList() is [var beyond, ..])
            throw new InvalidDataException($"{folder}: layers_to_transform names layer {beyond}, but the model has {model.LayerCount} layers.");
        using var tensors = PeftAdapter.ReadTensors(folder);
        var layers = config.LayersToTransform ?? [.. Enumerable.Range(0, model.LayerCount)];
        var slots = Chosen(model, config.PlacementKind, layers);
        using var g = new Generator(0);
        foreach (var (_, slot) in slots) slot.Attach(d, config.BottleneckSize, config.Activation, model.InputEmbeddings.weight!.dtype, model.InputEmbeddings.weight!.device, g);
        try
        {
            PeftAddOns.Assign(Keyed(slots), tensors, Path.Combine(folder, PeftAdapter.WeightsFile), requireAll: true);
        }
        catch
        {
            foreach (var (_, slot) in slots) slot.Detach();
            throw;
        }
        return config;
    }

    /// <summary>Indices (in layer order) of the layers this tuner adapts: all, or the top <c>topLayers</c>.</summary>
    private List<int> LayerIndices(CausalLanguageModel model)
    {
        var count = model.LayerCount;
        var first = topLayers is > 0 ? Math.Max(0, count - topLayers) : 0;
        return [.. Enumerable.Range(first, count - first)];
    }

    /// <summary>The slots of the chosen layers for a placement, in model order.</summary>
    private static List<(string Path, BottleneckAdapter Module)> Chosen(CausalLanguageModel model, AdapterPlacement placement, IReadOnlyCollection<int> layers)
    {
        var all = PeftAddOns.Slots<BottleneckAdapter>(model);
        var parents = all.Select(s => Parent(s.Path)).Distinct().ToList();
        if (parents.Count != model.LayerCount)
            throw new ArgumentException($"{model.GetType().Name} has bottleneck slots in {parents.Count} places but {model.LayerCount} layers; it does not support bottleneck adapters.");
        var chosen = layers.Select(i => parents[i]).ToHashSet(StringComparer.Ordinal);
        return [.. all.Where(s => chosen.Contains(Parent(s.Path)) && (placement == AdapterPlacement.Houlsby || s.Path.EndsWith("." + Mlp, StringComparison.Ordinal)))];
    }

    private static List<(string Key, Tensor Parameter)> Keyed(IEnumerable<(string Path, BottleneckAdapter Module)> slots) =>
        [.. slots.SelectMany(s => s.Module.Tensors().Select(t => (PeftKeys.ModelPrefix + s.Path + "." + t.Name, (Tensor)t.Value)))];

    private static string Parent(string path) => path[..path.LastIndexOf('.')];

    /// <summary>The decoder layer index of a saved key (<c>base_model.model.model.layers.3.mlp_adapter.up.bias</c> → 3).</summary>
    private static int LayerOf(string key)
    {
        var parts = key.Split('.');
        var at = Array.IndexOf(parts, "layers");
        return at >= 0 && at + 1 < parts.Length && int.TryParse(parts[at + 1], out var i)
            ? i
            : throw new ArgumentException($"Bottleneck tensor '{key}' does not name a decoder layer (….layers.<i>.…).");
    }
}
