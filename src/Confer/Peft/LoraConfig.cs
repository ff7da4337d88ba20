using System.Text.Json;
using System.Text.Json.Serialization;

namespace Confer.Peft;

/// <summary>
/// LoRA hyper-parameters, serialised as PEFT's <c>adapter_config.json</c> so an adapter trained here loads with
/// <c>PeftModel.from_pretrained</c> and vice versa. <see cref="RankPattern"/>/<see cref="AlphaPattern"/> give per-module
/// overrides keyed by a module-name suffix, as in PEFT.
/// </summary>
public sealed class LoraConfig
{
    /// <summary>Every linear layer of a LLaMA-family decoder.</summary>
    public static readonly IReadOnlyList<string> LlamaAllLinear = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>Every linear layer of a BERT encoder block.</summary>
    public static readonly IReadOnlyList<string> BertAllLinear = ["query", "key", "value", "dense"];

    [JsonPropertyName("peft_type")] public string PeftType { get; set; } = "LORA";
    [JsonPropertyName("task_type")] public string? TaskType { get; set; } = "CAUSAL_LM";
    [JsonPropertyName("base_model_name_or_path")] public string? BaseModelNameOrPath { get; set; }
    [JsonPropertyName("r")] public int Rank { get; set; } = 8;
    [JsonPropertyName("lora_alpha")] public double Alpha { get; set; } = 16;
    [JsonPropertyName("lora_dropout")] public double Dropout { get; set; } = 0.05;
    [JsonPropertyName("target_modules")] public List<string> TargetModules { get; set; } = [.. LlamaAllLinear];
    [JsonPropertyName("rank_pattern")] public Dictionary<string, int> RankPattern { get; set; } = new();
    [JsonPropertyName("alpha_pattern")] public Dictionary<string, double> AlphaPattern { get; set; } = new();
    [JsonPropertyName("bias")] public string Bias { get; set; } = "none";
    [JsonPropertyName("fan_in_fan_out")] public bool FanInFanOut { get; set; }
    [JsonPropertyName("inference_mode")] public bool InferenceMode { get; set; } = true;
    [JsonPropertyName("modules_to_save")] public List<string>? ModulesToSave { get; set; }

    /// <summary>True when the module at <paramref name="path"/> is a target (PEFT rule: exact name or a ".name" suffix).</summary>
    public bool Targets(string path) => TargetModules.Any(t => path == t || path.EndsWith("." + t, StringComparison.Ordinal));

    public int RankFor(string path) => MatchPattern(RankPattern, path) ?? Rank;

    public double AlphaFor(string path) => MatchPattern(AlphaPattern, path) ?? Alpha;

    private static T? MatchPattern<T>(Dictionary<string, T> pattern, string path) where T : struct
    {
        foreach (var (key, value) in pattern)
            if (path == key || path.EndsWith("." + key, StringComparison.Ordinal)) return value;
        return null;
    }

    public void Validate(string source = "LoRA config")
    {
        if (PeftType != "LORA") throw new InvalidDataException($"{source}: peft_type '{PeftType}' is not supported (only LORA).");
        if (Rank <= 0) throw new InvalidDataException($"{source}: r must be positive (got {Rank}).");
        if (Dropout is < 0 or >= 1) throw new InvalidDataException($"{source}: lora_dropout must be in [0, 1) (got {Dropout}).");
        if (TargetModules.Count == 0) throw new InvalidDataException($"{source}: target_modules is empty.");
        if (Bias != "none") throw new InvalidDataException($"{source}: bias '{Bias}' is not supported (only 'none').");
        if (FanInFanOut) throw new InvalidDataException($"{source}: fan_in_fan_out (GPT-2 Conv1D) is not supported.");
        foreach (var (k, r) in RankPattern)
            if (r <= 0) throw new InvalidDataException($"{source}: rank_pattern['{k}'] must be positive (got {r}).");
    }

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static LoraConfig Load(string path)
    {
        LoraConfig config;
        try
        {
            config = JsonSerializer.Deserialize<LoraConfig>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty adapter config.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid PEFT adapter_config.json ({e.Message}).", e);
        }
        config.Validate(path);
        return config;
    }
}
