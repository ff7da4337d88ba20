using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Confer.Peft;

/// <summary>
/// LoRA hyper-parameters, serialised as PEFT's <c>adapter_config.json</c> so an adapter trained here loads with
/// <c>PeftModel.from_pretrained</c> and vice versa. Every field that changes PEFT's math is either implemented exactly
/// (<c>r</c>, <c>lora_alpha</c>, <c>use_rslora</c>, <c>target_modules</c> as a list, a regex or "all-linear",
/// <c>exclude_modules</c>, <c>rank_pattern</c>, <c>alpha_pattern</c>) or refused by <see cref="Validate"/>; unread fields
/// pass only when they are known bookkeeping (<see cref="PeftConfigFields"/>).
/// </summary>
public sealed class LoraConfig
{
    /// <summary>Every linear layer of a LLaMA-family decoder.</summary>
    public static readonly IReadOnlyList<string> LlamaAllLinear = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>Every linear layer of a BERT encoder block.</summary>
    public static readonly IReadOnlyList<string> BertAllLinear = ["query", "key", "value", "dense"];

    /// <summary>PEFT's shorthand for every linear layer but the output layer.</summary>
    public const string AllLinear = "all-linear";

    /// <summary>PEFT's targets for LLaMA, Mistral and Qwen2 when target_modules is null.</summary>
    private static readonly IReadOnlyList<string> PeftDefaultTargets = ["q_proj", "v_proj"];

    [JsonPropertyName("peft_type")] public string PeftType { get; set; } = "LORA";
    [JsonPropertyName("task_type")] public string? TaskType { get; set; } = "CAUSAL_LM";
    [JsonPropertyName("base_model_name_or_path")] public string? BaseModelNameOrPath { get; set; }
    [JsonPropertyName("r")] public int Rank { get; set; } = 8;
    [JsonPropertyName("lora_alpha")] public double Alpha { get; set; } = 16;
    [JsonPropertyName("lora_dropout")] public double Dropout { get; set; } = 0.05;

    /// <summary>PEFT's rank-stabilised scaling α/√r instead of α/r (Kalajdzievski 2023).</summary>
    [JsonPropertyName("use_rslora")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool UseRsLora { get; set; }

    /// <summary>Module-name suffixes to adapt (PEFT's list form). Ignored when <see cref="TargetModulesPattern"/> is set.</summary>
    [JsonIgnore] public List<string> TargetModules { get; set; } = [.. LlamaAllLinear];

    /// <summary>PEFT's string form of target_modules: a regex the whole module path must match, or "all-linear".</summary>
    [JsonIgnore] public string? TargetModulesPattern { get; set; }

    /// <summary>target_modules as PEFT writes it: a list, a string, or null (PEFT's defaults for the model type).</summary>
    [JsonPropertyName("target_modules")]
    public JsonElement TargetModulesJson
    {
        get => JsonSerializer.SerializeToElement<object>(TargetModulesPattern is null ? TargetModules : TargetModulesPattern);
        set
        {
            (TargetModules, TargetModulesPattern) = value.ValueKind switch
            {
                JsonValueKind.String => (new List<string>(), value.GetString()),
                JsonValueKind.Array => (value.EnumerateArray().Select(e => e.GetString() ?? "").ToList(), (string?)null),
                JsonValueKind.Null => ([.. PeftDefaultTargets], null),
                _ => throw new JsonException("target_modules must be a list of names, a regex string or \"all-linear\""),
            };
        }
    }

    /// <summary>Modules never adapted, in the same forms as target_modules (PEFT ≥ 0.14).</summary>
    [JsonPropertyName("exclude_modules")] public JsonElement? ExcludeModules { get; set; }

    [JsonPropertyName("rank_pattern")] public Dictionary<string, int> RankPattern { get; set; } = new();
    [JsonPropertyName("alpha_pattern")] public Dictionary<string, double> AlphaPattern { get; set; } = new();
    [JsonPropertyName("bias")] public string Bias { get; set; } = "none";
    [JsonPropertyName("fan_in_fan_out")] public bool FanInFanOut { get; set; }
    [JsonPropertyName("inference_mode")] public bool InferenceMode { get; set; } = true;
    [JsonPropertyName("modules_to_save")] public List<string>? ModulesToSave { get; set; }
    // Written only when set: PEFT versions older than the field would reject it.
    [JsonPropertyName("use_dora")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool UseDora { get; set; }

    /// <summary>PEFT's initialisation: true (A Kaiming-uniform, B zero) is Confer's; PiSSA/OLoRA/LoftQ/EVA change the base weights or the start.</summary>
    [JsonPropertyName("init_lora_weights")] public JsonElement? InitLoraWeights { get; set; }

    [JsonPropertyName("layers_to_transform")] public JsonElement? LayersToTransform { get; set; }
    [JsonPropertyName("layers_pattern")] public JsonElement? LayersPattern { get; set; }
    [JsonPropertyName("layer_replication")] public JsonElement? LayerReplication { get; set; }
    [JsonPropertyName("loftq_config")] public JsonElement? LoftqConfig { get; set; }
    [JsonPropertyName("megatron_config")] public JsonElement? MegatronConfig { get; set; }
    [JsonPropertyName("lora_bias")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool LoraBias { get; set; }

    /// <summary>Fields not read above; <see cref="Validate"/> refuses any that is not known bookkeeping.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? UnreadFields { get; set; }

    /// <summary>The adapter_config.json fields this class reads (the others must be in <see cref="PeftConfigFields.WithoutEffect"/>).</summary>
    public static IReadOnlyList<string> ReadFields { get; } = typeof(LoraConfig).GetProperties()
        .Select(p => p.GetCustomAttributes(typeof(JsonPropertyNameAttribute), false).Cast<JsonPropertyNameAttribute>().FirstOrDefault()?.Name)
        .OfType<string>().ToList();

    /// <summary>True when target_modules is "all-linear" (PEFT compares it case-insensitively).</summary>
    [JsonIgnore] public bool TargetsAllLinear => string.Equals(TargetModulesPattern, AllLinear, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// True when the module at <paramref name="path"/> is a target, with PEFT's rules: a list entry matches the exact
    /// path or a ".name" suffix; a string must match the whole path as a regex; "all-linear" matches every LoRA-capable
    /// layer (the caller checks that the model has no other linear layer PEFT would adapt); exclude_modules wins.
    /// </summary>
    public bool Targets(string path)
    {
        if (ExcludeModules is { } exclude && Matches(exclude, path)) return false;
        if (TargetsAllLinear) return true;
        return TargetModulesPattern is { } pattern ? FullMatch(pattern, path) : MatchesSuffix(TargetModules, path);
    }

    /// <summary>The rank of the module at <paramref name="path"/>: the first rank_pattern key that matches its end (PEFT: <c>(.*\.)?key$</c>), else r.</summary>
    public int RankFor(string path) => MatchPattern(RankPattern, path) ?? Rank;

    public double AlphaFor(string path) => MatchPattern(AlphaPattern, path) ?? Alpha;

    private static T? MatchPattern<T>(Dictionary<string, T> pattern, string path) where T : struct
    {
        foreach (var (key, value) in pattern)
            if (Regex.IsMatch(path, $@"^(?:.*\.)?(?:{key})$")) return value;
        return null;
    }

    private static bool Matches(JsonElement modules, string path) => modules.ValueKind switch
    {
        JsonValueKind.String => FullMatch(modules.GetString()!, path),
        JsonValueKind.Array => MatchesSuffix(modules.EnumerateArray().Select(e => e.GetString() ?? ""), path),
        _ => false,
    };

    private static bool FullMatch(string pattern, string path) => Regex.IsMatch(path, $"^(?:{pattern})$");

    private static bool MatchesSuffix(IEnumerable<string> names, string path) =>
        names.Any(t => path == t || path.EndsWith("." + t, StringComparison.Ordinal));

    public void Validate(string source = "LoRA config")
    {
        if (PeftType != "LORA") throw new InvalidDataException($"{source}: peft_type '{PeftType}' is not supported (only LORA).");
        if (Rank <= 0) throw new InvalidDataException($"{source}: r must be positive (got {Rank}).");
        if (Dropout is < 0 or >= 1) throw new InvalidDataException($"{source}: lora_dropout must be in [0, 1) (got {Dropout}).");
        if (TargetModulesPattern is null && TargetModules.Count == 0) throw new InvalidDataException($"{source}: target_modules is empty.");
        foreach (var pattern in new[] { TargetModulesPattern }.Concat(RankPattern.Keys).Concat(AlphaPattern.Keys).OfType<string>())
        {
            try { _ = new Regex(pattern); }
            catch (ArgumentException e) { throw new InvalidDataException($"{source}: '{pattern}' is not a regular expression .NET can read ({e.Message})."); }
        }
        foreach (var (k, r) in RankPattern)
            if (r <= 0) throw new InvalidDataException($"{source}: rank_pattern['{k}'] must be positive (got {r}).");
        Refuse(Bias != "none", source, "bias", $"'{Bias}'", "trainable biases are not part of Confer's adapters; use bias \"none\"");
        Refuse(FanInFanOut, source, "fan_in_fan_out", "true", "GPT-2 Conv1D layers are not supported");
        Refuse(ModulesToSave is { Count: > 0 }, source, "modules_to_save", $"[{string.Join(", ", ModulesToSave ?? [])}]", "fully trained module copies are not part of Confer's adapters");
        Refuse(UseDora, source, "use_dora", "true", "DoRA's magnitude vectors are not implemented");
        Refuse(LoraBias, source, "lora_bias", "true", "a bias on lora_B is not implemented");
        Refuse(InitLoraWeights is { ValueKind: not (JsonValueKind.True or JsonValueKind.Null) }, source, "init_lora_weights", InitLoraWeights?.GetRawText() ?? "",
            "only PEFT's default initialisation (true) is implemented; PiSSA/OLoRA/LoftQ change the base weights");
        Refuse(IsSet(LayersToTransform), source, "layers_to_transform", LayersToTransform?.GetRawText() ?? "", "adapting only some layers is not implemented");
        Refuse(IsSet(LayersPattern), source, "layers_pattern", LayersPattern?.GetRawText() ?? "", "it only applies with layers_to_transform");
        Refuse(IsSet(LayerReplication), source, "layer_replication", LayerReplication?.GetRawText() ?? "", "it changes the model's layers");
        Refuse(IsSet(LoftqConfig), source, "loftq_config", LoftqConfig?.GetRawText() ?? "", "LoftQ changes the base weights");
        Refuse(IsSet(MegatronConfig), source, "megatron_config", MegatronConfig?.GetRawText() ?? "", "Megatron parallel layers are not supported");
        PeftConfigFields.RefuseUnread(UnreadFields, source, ReadFields);
    }

    /// <summary>Null, false, {} and [] mean "not used" in PEFT's files.</summary>
    internal static bool IsSet(JsonElement? value) => value is { } v && v.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.False => false,
        JsonValueKind.Object => v.EnumerateObject().Any(),
        JsonValueKind.Array => v.GetArrayLength() > 0,
        _ => true,
    };

    private static void Refuse(bool condition, string source, string field, string value, string why)
    {
        if (condition)
            throw new NotSupportedException($"{source}: {field} = {value} is not supported ({why}); Confer would not reproduce PEFT's output, so the adapter is refused.");
    }

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static LoraConfig Load(string path)
    {
        LoraConfig config;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            config = doc.RootElement.Deserialize<LoraConfig>() ?? throw new InvalidDataException($"{path}: empty adapter config.");
            // PEFT reads a missing target_modules as null: its defaults for the model type, not Confer's all-linear default.
            if (doc.RootElement.ValueKind == JsonValueKind.Object && !doc.RootElement.TryGetProperty("target_modules", out _))
                config.TargetModules = [.. PeftDefaultTargets];
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid PEFT adapter_config.json ({e.Message}).", e);
        }
        config.Validate(path);
        return config;
    }
}
