using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Confer.Peft.PromptTuning;

/// <summary>
/// PEFT's <c>adapter_config.json</c> for prompt tuning: the fields of PEFT's <c>PromptTuningConfig</c> and its bases
/// (<c>PromptLearningConfig</c>, <c>PeftConfig</c>, <c>PeftConfigMixin</c> in <c>peft/config.py</c> and
/// <c>peft/tuners/prompt_tuning/config.py</c>), in PEFT's sorted key order, so <c>PeftModel.from_pretrained</c>
/// loads a prompt trained here. Reading refuses what would change the math here but not in PEFT or vice versa
/// (another prompt-learning type, an encoder-decoder's two prompts).
/// </summary>
public sealed class PromptTuningConfig
{
    public const string PeftTypeName = "PROMPT_TUNING";

    [JsonPropertyName("auto_mapping")] public JsonObject? AutoMapping { get; set; }
    [JsonPropertyName("base_model_name_or_path")] public string? BaseModelNameOrPath { get; set; }
    [JsonPropertyName("inference_mode")] public bool InferenceMode { get; set; } = true;
    [JsonPropertyName("num_attention_heads")] public int? NumAttentionHeads { get; set; }
    [JsonPropertyName("num_layers")] public int? NumLayers { get; set; }
    [JsonPropertyName("num_transformer_submodules")] public int? NumTransformerSubmodules { get; set; } = 1;
    [JsonPropertyName("num_virtual_tokens")] public int NumVirtualTokens { get; set; }
    [JsonPropertyName("peft_type")] public string PeftType { get; set; } = PeftTypeName;
    [JsonPropertyName("prompt_tuning_init")] public string PromptTuningInit { get; set; } = "RANDOM";
    [JsonPropertyName("prompt_tuning_init_text")] public string? PromptTuningInitText { get; set; }
    [JsonPropertyName("revision")] public string? Revision { get; set; }
    [JsonPropertyName("task_type")] public string? TaskType { get; set; } = "CAUSAL_LM";
    [JsonPropertyName("token_dim")] public int TokenDim { get; set; }
    [JsonPropertyName("tokenizer_kwargs")] public JsonObject? TokenizerKwargs { get; set; }
    [JsonPropertyName("tokenizer_name_or_path")] public string? TokenizerNameOrPath { get; set; }

    /// <summary>PEFT's name of an initialisation: <c>SAMPLE_VOCAB</c> or <c>RANDOM</c>.</summary>
    public static string InitName(PromptInit init) => init == PromptInit.Vocab ? "SAMPLE_VOCAB" : "RANDOM";

    public void Validate(string source)
    {
        if (PeftType != PeftTypeName) throw new InvalidDataException($"{source}: peft_type '{PeftType}' is not {PeftTypeName}.");
        if (TaskType is not (null or "CAUSAL_LM"))
            throw new InvalidDataException($"{source}: task_type '{TaskType}' is not supported for prompt tuning (only CAUSAL_LM).");
        if (NumTransformerSubmodules is not (null or 1))
            throw new InvalidDataException($"{source}: num_transformer_submodules is {NumTransformerSubmodules}; a decoder-only model has one prompt (encoder-decoder prompts are not supported).");
        if (NumVirtualTokens < 1) throw new InvalidDataException($"{source}: num_virtual_tokens must be ≥ 1 (got {NumVirtualTokens}).");
        if (TokenDim < 1) throw new InvalidDataException($"{source}: token_dim must be ≥ 1 (got {TokenDim}).");
    }

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static PromptTuningConfig Load(string path)
    {
        PromptTuningConfig config;
        try
        {
            config = JsonSerializer.Deserialize<PromptTuningConfig>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty adapter config.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid PEFT prompt-tuning adapter_config.json ({e.Message}).", e);
        }
        config.Validate(path);
        return config;
    }
}
