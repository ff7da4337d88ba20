using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// The <c>model</c> of a byte-level <c>tokenizer.json</c>: BPE over GPT-2's byte alphabet, with Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/> doing the merges on each pre-tokenized piece. <c>ignore_merges</c> (Llama 3) emits a
/// piece that is itself in the vocabulary as one token without merging. Dropout, byte fallback and sub-word
/// prefixes/suffixes (not used by byte-level models) are refused.
/// </summary>
internal sealed class ByteLevelBpeModel
{
    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly bool _ignoreMerges;

    private ByteLevelBpeModel(BpeTokenizer bpe, Dictionary<string, int> vocabulary, bool ignoreMerges)
    {
        _bpe = bpe;
        _vocabulary = vocabulary;
        _ignoreMerges = ignoreMerges;
    }

    /// <summary>Token string (in the byte alphabet) → id.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary => _vocabulary;

    public static ByteLevelBpeModel Read(JsonElement model, string path)
    {
        string type = TokenizerJsonFields.TypeOf(model, path, "model");
        if (type != "BPE") throw TokenizerJsonError.Unsupported(path, "model", type, "BPE");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() != 0)
            throw TokenizerJsonError.UnsupportedValue(path, "model BPE", "dropout", dropout.GetRawText(), "null or 0");
        if (TokenizerJsonFields.Flag(model, "byte_fallback")) throw TokenizerJsonError.UnsupportedValue(path, "model BPE", "byte_fallback", "true", "false");
        foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (TokenizerJsonFields.Text(model, affix) is { Length: > 0 } value)
                throw TokenizerJsonError.UnsupportedValue(path, "model BPE", affix, $"'{value}'", "null or empty");

        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject()) vocabulary[entry.Name] = entry.Value.GetInt32();
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => Merge(m, path)).ToList();
        var bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges,
            UnknownToken = TokenizerJsonFields.Text(model, "unk_token"),
            FuseUnknownTokens = TokenizerJsonFields.Flag(model, "fuse_unk"),
        });
        return new ByteLevelBpeModel(bpe, vocabulary, TokenizerJsonFields.Flag(model, "ignore_merges"));
    }

    /// <summary>Older files write a merge as <c>"a b"</c>, newer ones as <c>["a", "b"]</c>.</summary>
    private static string Merge(JsonElement merge, string path) => merge.ValueKind switch
    {
        JsonValueKind.String => merge.GetString()!,
        JsonValueKind.Array when merge.GetArrayLength() == 2 => merge[0].GetString() + " " + merge[1].GetString(),
        _ => throw TokenizerJsonError.Invalid(path, $"merge {merge.GetRawText()} is neither \"a b\" nor [\"a\", \"b\"]"),
    };

    /// <summary>Appends the ids of one pre-tokenized piece.</summary>
    public void Encode(string piece, List<int> ids)
    {
        string symbols = ByteLevelAlphabet.Encode(piece);
        if (_ignoreMerges && _vocabulary.TryGetValue(symbols, out int whole))
        {
            ids.Add(whole);
            return;
        }
        ids.AddRange(_bpe.EncodeToIds(symbols, considerPreTokenization: false, considerNormalization: false));
    }
}
