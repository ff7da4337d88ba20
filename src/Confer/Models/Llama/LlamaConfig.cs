using System.Text.Json;
using System.Text.Json.Serialization;

namespace Confer.Models.Llama;

/// <summary>
/// Hyper-parameters of a LLaMA-family decoder, read from and written to a Hugging Face <c>config.json</c>.
/// <c>Qwen2ForCausalLM</c> is the same architecture with biases on q/k/v.
/// </summary>
public sealed class LlamaConfig
{
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["LlamaForCausalLM", "Qwen2ForCausalLM"];

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
    [JsonPropertyName("rope_scaling")] public JsonElement? RopeScaling { get; set; }
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    [JsonPropertyName("attention_bias")] public bool? AttentionBias { get; set; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; set; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "silu";
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; set; } = 1;
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenIdRaw { get; set; }
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; set; }
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    [JsonPropertyName("torch_dtype")] public string TorchDtype { get; set; } = "float32";

    [JsonIgnore] public string Architecture => Architectures.FirstOrDefault() ?? "LlamaForCausalLM";
    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;
    [JsonIgnore] public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;

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
        if (RopeScaling is { ValueKind: JsonValueKind.Object } rs &&
            rs.TryGetProperty("rope_type", out var t) && t.GetString() is { } type && type != "default")
            throw new NotSupportedException($"{source}: rope_scaling type '{type}' is not supported (only default RoPE).");
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
