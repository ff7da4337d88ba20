using System.Text.Json;
using System.Text.Json.Serialization;

namespace Confer.Models.Llama;

/// <summary>
/// Hyper-parameters of a LLaMA-family decoder, read from and written to a Hugging Face <c>config.json</c>.
/// <c>Qwen2ForCausalLM</c> is the same architecture with biases on q/k/v; <c>MistralForCausalLM</c> the same with an
/// optional sliding attention window. Every field either changes the model as transformers does or is refused
/// (<see cref="Validate"/>); unread fields pass only when they are known to have no effect (<see cref="HfConfigFields"/>).
/// </summary>
public sealed class LlamaConfig
{
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM"];

    [JsonPropertyName("architectures")] public List<string> Architectures { get; set; } = ["LlamaForCausalLM"];
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "llama";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 32000;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 4096;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 11008;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 32;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 32;
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; set; }
    [JsonPropertyName("head_dim")] public int? HeadDimOverride { get; set; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 2048;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; set; } = 1e-6;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; set; } = 10000.0;
    [JsonPropertyName("rope_scaling")] public JsonElement? RopeScalingJson { get; set; }
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    [JsonPropertyName("attention_bias")] public bool? AttentionBias { get; set; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; set; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "silu";
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; set; } = 1;
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenIdRaw { get; set; }
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; set; }
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    [JsonPropertyName("torch_dtype")] public string TorchDtype { get; set; } = "float32";
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; set; }
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; set; }
    [JsonPropertyName("use_sliding_window")] public bool? UseSlidingWindow { get; set; }
    [JsonPropertyName("max_window_layers")] public int? MaxWindowLayers { get; set; }
    [JsonPropertyName("layer_types")] public List<string>? LayerTypes { get; set; }

    /// <summary>The name or path the model was saved from (HF's <c>_name_or_path</c>); adapters record it as their base.</summary>
    [JsonPropertyName("_name_or_path")] public string? NameOrPath { get; set; }

    /// <summary>Fields this class does not read, kept so that a saved config keeps them; <see cref="Validate"/> vets them.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? UnreadFields { get; set; }

    /// <summary>The config.json fields this class reads (the rest must be in <see cref="HfConfigFields.WithoutEffect"/>).</summary>
    [JsonIgnore]
    public static IReadOnlyList<string> ReadFields { get; } = typeof(LlamaConfig).GetProperties()
        .Select(p => p.GetCustomAttributes(typeof(JsonPropertyNameAttribute), false).Cast<JsonPropertyNameAttribute>().FirstOrDefault()?.Name)
        .OfType<string>().ToList();

    [JsonIgnore] public string Architecture => Architectures.FirstOrDefault() ?? "LlamaForCausalLM";
    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;
    [JsonIgnore] public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;

    /// <summary>
    /// The attention window in keys, or null for full causal attention. transformers' Mistral honours
    /// <c>sliding_window</c>; its Llama ignores the key; Qwen2 uses it only with <c>use_sliding_window</c>, which is refused.
    /// </summary>
    [JsonIgnore] public int? AttentionWindow => Architecture == "MistralForCausalLM" ? SlidingWindow : null;

    /// <summary>The parsed <c>rope_scaling</c> (null for plain RoPE).</summary>
    [JsonIgnore] public RopeScaling? Rope => RopeScaling.Read(RopeScalingJson, "config.json");

    /// <summary>Qwen2 puts biases on q/k/v (its config has no <c>attention_bias</c> key); LLaMA has none by default.</summary>
    [JsonIgnore] public bool QkvBias => AttentionBias ?? Architecture == "Qwen2ForCausalLM";

    /// <summary>First end-of-sequence id (HF allows a single id or a list).</summary>
    [JsonIgnore]
    public int? EosTokenId => EosTokenIdRaw switch
    {
        { ValueKind: JsonValueKind.Number } e => e.GetInt32(),
        { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 0 => a[0].GetInt32(),
        _ => null,
    };

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static LlamaConfig Load(string path)
    {
        var config = HfConfigJson.Read<LlamaConfig>(path);
        config.Validate(path);
        return config;
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, WriteOptions));

    public void Validate(string source = "config")
    {
        if (!SupportedArchitectures.Contains(Architecture))
            throw new NotSupportedException(
                $"{source}: architecture '{Architecture}' is not supported by the LLaMA-family decoder; supported: {string.Join(", ", SupportedArchitectures)}.");
        RopeScaling.Read(RopeScalingJson, source);
        if (AttentionDropout != 0)
            throw new NotSupportedException($"{source}: attention_dropout {AttentionDropout} is not supported (Confer's attention has no dropout); set it to 0.0.");
        if (UseSlidingWindow == true)
            throw new NotSupportedException($"{source}: use_sliding_window true (Qwen2's per-layer sliding window) is not supported; set it to false to use full attention, which changes the model on sequences longer than sliding_window.");
        if (AttentionWindow is <= 0) throw new InvalidDataException($"{source}: sliding_window must be positive (got {SlidingWindow}).");
        if (LayerTypes?.FirstOrDefault(t => t != "full_attention") is { } layerType)
            throw new NotSupportedException($"{source}: layer_types has '{layerType}'; Confer runs every layer with full attention.");
        HfConfigFields.RefuseUnread(UnreadFields, source, ReadFields);
        if (HiddenAct != "silu")
            throw new NotSupportedException($"{source}: hidden_act '{HiddenAct}' is not supported (only silu/SwiGLU).");
        Require(VocabSize > 0, "vocab_size", source);
        Require(HiddenSize > 0, "hidden_size", source);
        Require(NumHiddenLayers > 0, "num_hidden_layers", source);
        Require(NumAttentionHeads > 0 && (HeadDimOverride is not null || HiddenSize % NumAttentionHeads == 0), "num_attention_heads", source);
        Require(KeyValueHeads > 0 && NumAttentionHeads % KeyValueHeads == 0, "num_key_value_heads", source);
        Require(HeadDim % 2 == 0, "head_dim (must be even for RoPE)", source);
    }

    private static void Require(bool ok, string field, string source)
    {
        if (!ok) throw new InvalidDataException($"{source}: invalid value for '{field}'.");
    }
}
