using System.Text.Json;

namespace Confer.Tokenizers;

/// <summary>
/// Resolves special-token ids from a Hugging Face model folder. Precedence: <c>tokenizer_config.json</c>, then
/// <c>special_tokens_map.json</c> (both name tokens: <c>"bos_token": "&lt;s&gt;"</c> or <c>{"content": "&lt;s&gt;"}</c>),
/// then <c>config.json</c> ids (<c>bos_token_id</c>, ...), then the tokenizer family's defaults.
/// </summary>
internal static class SpecialTokenConfig
{
    private static readonly string[] TokenFiles = ["tokenizer_config.json", "special_tokens_map.json"];

    public static SpecialTokenIds Resolve(string folder, IReadOnlyDictionary<string, int> vocabulary, SpecialTokenIds defaults)
    {
        var documents = TokenFiles.Select(f => Path.Combine(folder, f)).Where(File.Exists).Select(p => (Path: p, Json: TokenizerJsonFiles.Parse(p))).ToList();
        string configPath = Path.Combine(folder, "config.json");
        JsonElement? config = File.Exists(configPath) ? TokenizerJsonFiles.Parse(configPath) : null;

        int? Find(string name, int? fallback)
        {
            foreach (var (path, json) in documents)
            {
                if (TokenText(json, name + "_token") is { } token)
                    return vocabulary.TryGetValue(token, out int id)
                        ? id
                        : throw new InvalidDataException($"'{path}': {name}_token '{token}' is not in the tokenizer's vocabulary. Fix the file or remove the entry.");
            }
            if (config is { } c && c.TryGetProperty(name + "_token_id", out var idElement) && FirstId(idElement) is { } configId)
                return configId;
            return fallback;
        }

        return new SpecialTokenIds(
            Find("bos", defaults.Bos), Find("eos", defaults.Eos), Find("pad", defaults.Pad), Find("unk", defaults.Unk),
            Find("cls", defaults.Cls), Find("sep", defaults.Sep), Find("mask", defaults.Mask));
    }

    /// <summary>BERT folders may say <c>"do_lower_case": false</c> (cased models); uncased is the default.</summary>
    public static bool LowerCase(string folder) => ConfigFlag(folder, "do_lower_case") ?? true;

    /// <summary>BERT's <c>strip_accents</c>: unset (or null) follows do_lower_case, as in transformers.</summary>
    public static bool StripAccents(string folder) => ConfigFlag(folder, "strip_accents") ?? LowerCase(folder);

    /// <summary>BERT's <c>tokenize_chinese_chars</c>: on unless tokenizer_config.json says false.</summary>
    public static bool SplitCjk(string folder) => ConfigFlag(folder, "tokenize_chinese_chars") ?? true;

    /// <summary>transformers' <c>clean_up_tokenization_spaces</c> from tokenizer_config.json; off when the file does not say.</summary>
    public static bool CleanUpSpaces(string folder) => ConfigFlag(folder, "clean_up_tokenization_spaces") ?? false;

    /// <summary>
    /// A true/false key of tokenizer_config.json; null when the file or the key is missing or the value is null. Any other
    /// value is refused: a flag that changes tokenization must not be guessed.
    /// </summary>
    private static bool? ConfigFlag(string folder, string key)
    {
        string path = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(path) || !TokenizerJsonFiles.Parse(path).TryGetProperty(key, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null => null,
            _ => throw new InvalidDataException($"{path}: \"{key}\" is {v.GetRawText()}; expected true, false or null."),
        };
    }

    private static string? TokenText(JsonElement json, string key) =>
        json.TryGetProperty(key, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
                _ => null,
            }
            : null;

    /// <summary><c>eos_token_id</c> may be a number or a list of numbers (several stop ids); the first one is the EOS.</summary>
    private static int? FirstId(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number when e.TryGetInt32(out int id) => id,
        JsonValueKind.Array when e.GetArrayLength() > 0 && e[0].TryGetInt32(out int first) => first,
        _ => null,
    };
}
