using System.Text.Json;
using System.Text.Json.Serialization;

namespace Confer.Peft.Bottleneck;

/// <summary>
/// <c>adapter_config.json</c> of a bottleneck-adapter folder. PEFT has no adapter type for Houlsby/Pfeiffer adapters,
/// so Confer keeps PEFT's folder convention (this file + <c>adapter_model.safetensors</c> with PEFT's
/// <c>base_model.model.</c> key prefix and <c>format: pt</c> metadata) under its own <c>peft_type</c>
/// <c>BOTTLENECK</c>, which PEFT refuses by name instead of misreading. Tensors, per adapted sub-layer
/// <c>&lt;layer&gt;.attn_adapter</c> / <c>&lt;layer&gt;.mlp_adapter</c>: <c>down.weight</c> (m × d), <c>down.bias</c> (m),
/// <c>up.weight</c> (d × m), <c>up.bias</c> (d).
/// </summary>
public sealed class BottleneckConfig
{
    public const string PeftTypeName = "BOTTLENECK";

    [JsonPropertyName("peft_type")] public string PeftType { get; set; } = PeftTypeName;
    [JsonPropertyName("task_type")] public string? TaskType { get; set; } = "CAUSAL_LM";
    [JsonPropertyName("base_model_name_or_path")] public string? BaseModelNameOrPath { get; set; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; }
    [JsonPropertyName("bottleneck_size")] public int BottleneckSize { get; set; }

    /// <summary><c>houlsby</c> (after attention and MLP) or <c>pfeiffer</c> (after the MLP).</summary>
    [JsonPropertyName("placement")] public string Placement { get; set; } = "houlsby";

    /// <summary><c>relu</c>, <c>gelu</c> or <c>silu</c>.</summary>
    [JsonPropertyName("non_linearity")] public string NonLinearity { get; set; } = "relu";

    /// <summary>Decoder layer indices that carry adapters (PEFT's name for the same idea in LoRA); null = every layer.</summary>
    [JsonPropertyName("layers_to_transform")] public List<int>? LayersToTransform { get; set; }

    [JsonPropertyName("inference_mode")] public bool InferenceMode { get; set; } = true;

    public AdapterPlacement PlacementKind => Placement switch
    {
        "houlsby" => AdapterPlacement.Houlsby,
        "pfeiffer" => AdapterPlacement.Pfeiffer,
        _ => throw new InvalidDataException($"placement '{Placement}' is not houlsby or pfeiffer."),
    };

    public AdapterActivation Activation => NonLinearity switch
    {
        "relu" => AdapterActivation.Relu,
        "gelu" => AdapterActivation.Gelu,
        "silu" => AdapterActivation.Silu,
        _ => throw new InvalidDataException($"non_linearity '{NonLinearity}' is not relu, gelu or silu."),
    };

    public void Validate(string source)
    {
        if (PeftType != PeftTypeName) throw new InvalidDataException($"{source}: peft_type '{PeftType}' is not {PeftTypeName}.");
        if (TaskType is not (null or "CAUSAL_LM")) throw new InvalidDataException($"{source}: task_type '{TaskType}' is not supported (only CAUSAL_LM).");
        if (BottleneckSize < 1 || HiddenSize < 1) throw new InvalidDataException($"{source}: bottleneck_size and hidden_size must be ≥ 1.");
        try
        {
            _ = PlacementKind;
            _ = Activation;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}");
        }
        if (LayersToTransform is { } layers && (layers.Count == 0 || layers.Any(l => l < 0) || layers.Distinct().Count() != layers.Count))
            throw new InvalidDataException($"{source}: layers_to_transform must list distinct non-negative layer indices.");
    }

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static BottleneckConfig Load(string path)
    {
        BottleneckConfig config;
        try
        {
            config = JsonSerializer.Deserialize<BottleneckConfig>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty adapter config.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid bottleneck adapter_config.json ({e.Message}).", e);
        }
        config.Validate(path);
        return config;
    }
}
