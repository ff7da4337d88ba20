using System.Text.Json;

namespace Confer.Training.Generation;

/// <summary>
/// A model folder's <c>generation_config.json</c>: the decoding defaults its authors ship (Llama 3 Instruct: sample at
/// temperature 0.6, top_p 0.9, stop at any of three end ids). Used as transformers' <c>generate</c> uses it: sampling
/// only when <c>do_sample</c> is true, with transformers' defaults (temperature 1, top_k 50, top_p 1) for what the file
/// leaves out, and its repetition_penalty. Settings Confer's decoder does not implement are listed in <see cref="Unapplied"/> for the caller to report.
/// </summary>
public sealed record GenerationConfig(IReadOnlyList<int>? EosTokenIds, bool DoSample, double Temperature, int TopK, double TopP, double RepetitionPenalty,
    int? MaxNewTokens, IReadOnlyList<string> Unapplied)
{
    public const string FileName = "generation_config.json";

    /// <summary>Fields that only say what the model is (bookkeeping) or are covered above.</summary>
    private static readonly HashSet<string> Read =
    [
        "eos_token_id", "do_sample", "temperature", "top_k", "top_p", "repetition_penalty", "max_new_tokens", "bos_token_id", "pad_token_id",
        "transformers_version", "_from_model_config", "max_length", "use_cache",
    ];

    /// <summary>The folder's generation config, or null without the file.</summary>
    public static GenerationConfig? FromModelFolder(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON ({error.Message}).", error);
        }
        double Number(string name, double fallback) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : fallback;
        IReadOnlyList<int>? eos = root.TryGetProperty("eos_token_id", out var eosJson) ? eosJson.ValueKind switch
        {
            JsonValueKind.Number => [eosJson.GetInt32()],
            JsonValueKind.Array => eosJson.EnumerateArray().Select(i => i.GetInt32()).ToList(),
            _ => null,
        } : null;
        var unapplied = root.EnumerateObject()
            .Where(p => !Read.Contains(p.Name) && !IsNeutral(p.Name, p.Value))
            .Select(p => $"{p.Name} = {p.Value.GetRawText()}").ToList();
        return new GenerationConfig(eos,
            root.TryGetProperty("do_sample", out var sample) && sample.ValueKind == JsonValueKind.True,
            Number("temperature", 1.0), (int)Number("top_k", 50), Number("top_p", 1.0), Number("repetition_penalty", 1.0),
            root.TryGetProperty("max_new_tokens", out var max) && max.ValueKind == JsonValueKind.Number ? max.GetInt32() : null,
            unapplied);
    }

    /// <summary>A setting at its transformers default changes nothing (e.g. repetition_penalty 1.0, num_beams 1).</summary>
    private static bool IsNeutral(string name, JsonElement value) => (name, value.ValueKind) switch
    {
        (_, JsonValueKind.Null) => true,
        ("length_penalty", JsonValueKind.Number) => value.GetDouble() == 1.0,
        ("num_beams" or "num_return_sequences", JsonValueKind.Number) => value.GetInt32() == 1,
        _ => false,
    };

    /// <summary>
    /// Decoding options from this file, where the caller has not chosen: greedy unless <c>do_sample</c>, else its
    /// temperature, top_k and top_p; its repetition penalty (applied greedy or not, as in transformers); its EOS ids.
    /// </summary>
    public GenerationOptions ApplyTo(GenerationOptions options, double? temperature, int? topK, double? topP, int? maxNewTokens, double? repetitionPenalty = null) => options with
    {
        RepetitionPenalty = repetitionPenalty ?? RepetitionPenalty,
        Temperature = temperature ?? (DoSample ? Temperature : 0),
        TopK = topK ?? (DoSample ? TopK : 0),
        TopP = topP ?? (DoSample ? TopP : 1.0),
        MaxNewTokens = maxNewTokens ?? MaxNewTokens ?? options.MaxNewTokens,
        EosTokenIds = EosTokenIds ?? options.EosTokenIds,
    };
}
