using System.Text;
using System.Text.Json;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> of the byte-level BPE family (Llama 3, Qwen2/2.5/3, GPT-2 style), run the way
/// HF tokenizers runs it: added tokens are cut out of the raw text first (then, for <c>normalized</c> ones, out of the
/// normalised text), the rest is normalised, split by the pre-tokenizer and encoded piece by piece by the BPE model;
/// the post-processor's special tokens are added only when asked for. Any component of another type is refused by name.
/// </summary>
internal sealed class TokenizerJsonBackend : ITokenizerBackend
{
    private static readonly HashSet<string> KnownFields =
        ["version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"];

    private readonly AddedTokenMatcher _rawTokens;
    private readonly AddedTokenMatcher _normalizedTokens;
    private readonly UnicodeNormalizer? _normalizer;
    private readonly PreTokenizerPipeline _preTokenizer;
    private readonly ByteLevelBpeModel _model;
    private readonly Dictionary<int, string> _idToToken;
    private readonly HashSet<int> _specialIds;

    public TokenizerJsonBackend(string path)
    {
        var root = Parse(path);
        // The family test comes first: a SentencePiece-style file is read from tokenizer.model instead, whatever else it says.
        var preTokenizer = Get(root, "pre_tokenizer", path);
        if (!PreTokenizerPipeline.IsByteLevel(preTokenizer))
            throw new NotByteLevelException(TokenizerJsonError.Unsupported(path, "pre_tokenizer", Describe(preTokenizer), "byte-level BPE (a pre_tokenizer ending in ByteLevel)").Message);
        foreach (var field in root.EnumerateObject())
            if (!KnownFields.Contains(field.Name))
                throw TokenizerJsonError.Invalid(path, $"unknown top-level field '{field.Name}' (Confer reads {string.Join(", ", KnownFields)})");
        foreach (var field in new[] { "truncation", "padding" })
            if (root.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null)
                throw TokenizerJsonError.UnsupportedValue(path, "tokenizer", field, v.GetRawText(), "null (Confer truncates and pads in its data pipeline); set it to null");

        CheckDecoder(Get(root, "decoder", path), path);
        _preTokenizer = PreTokenizerPipeline.Read(preTokenizer, path);
        _normalizer = root.TryGetProperty("normalizer", out var normalizer) ? UnicodeNormalizer.Read(normalizer, path) : null;
        _model = ByteLevelBpeModel.Read(Get(root, "model", path), path);
        PostProcessor = root.TryGetProperty("post_processor", out var post) ? PostProcessor.Read(post, path) : PostProcessor.None;

        var added = root.TryGetProperty("added_tokens", out var list) ? list.EnumerateArray().Select(t => ReadAddedToken(t, path)).ToList() : [];
        // Without a normalizer, normalised and raw text are the same, so every added token is matched in one pass.
        _rawTokens = new AddedTokenMatcher(added.Where(t => !t.Normalized || _normalizer is null));
        _normalizedTokens = new AddedTokenMatcher(_normalizer is null ? [] : added.Where(t => t.Normalized).Select(t => t with { Content = _normalizer.Apply(t.Content) }));
        _specialIds = added.Where(t => t.Special).Select(t => t.Id).ToHashSet();

        var vocabulary = new Dictionary<string, int>(_model.Vocabulary, StringComparer.Ordinal);
        foreach (var token in added) vocabulary[token.Content] = token.Id;
        Vocabulary = vocabulary;
        _idToToken = new Dictionary<int, string>(vocabulary.Count);
        foreach (var (token, id) in _model.Vocabulary) _idToToken[id] = token;
        foreach (var token in added) _idToToken[token.Id] = token.Content;
        VocabSize = vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1;
    }

    public TextTokenizerKind Kind => TextTokenizerKind.TokenizerJsonByteLevelBpe;

    public IReadOnlyDictionary<string, int> Vocabulary { get; }

    public int VocabSize { get; }

    /// <summary>tokenizer.json names no BOS/EOS; they come from tokenizer_config.json.</summary>
    public SpecialTokenIds Defaults { get; } = new(null, null, null, null);

    public PostProcessor PostProcessor { get; }

    (IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)? ITokenizerBackend.SpecialTokenTemplate => (PostProcessor.Prefix, PostProcessor.Suffix);

    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        _rawTokens.Split(text, plain => EncodePlain(plain, ids), token => ids.Add(token.Id));
        return ids;
    }

    private void EncodePlain(string text, List<int> ids)
    {
        if (_normalizer is null)
        {
            EncodePieces(text, ids);
            return;
        }
        _normalizedTokens.Split(_normalizer.Apply(text), plain => EncodePieces(plain, ids), token => ids.Add(token.Id));
    }

    private void EncodePieces(string text, List<int> ids)
    {
        foreach (var piece in _preTokenizer.Split(text)) _model.Encode(piece, ids);
    }

    /// <summary>
    /// HF's ByteLevel decoder: each token's characters back to bytes (a token with characters outside the byte alphabet,
    /// such as an added token with a space, contributes its UTF-8), then one lossy UTF-8 decode. Unknown ids are skipped, as HF does.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (!_idToToken.TryGetValue(id, out var token) || (skipSpecialTokens && _specialIds.Contains(id))) continue;
            ByteLevelAlphabet.AppendBytes(token, bytes);
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static AddedToken ReadAddedToken(JsonElement token, string path)
    {
        var content = TokenizerJsonFields.Text(token, "content") ?? throw TokenizerJsonError.Invalid(path, "an added token has no content");
        if (TokenizerJsonFields.Flag(token, "single_word"))
            throw TokenizerJsonError.UnsupportedValue(path, $"added token '{content}'", "single_word", "true", "false");
        return new AddedToken(token.GetProperty("id").GetInt32(), content, TokenizerJsonFields.Flag(token, "special"),
            TokenizerJsonFields.Flag(token, "normalized"), TokenizerJsonFields.Flag(token, "lstrip"), TokenizerJsonFields.Flag(token, "rstrip"));
    }

    private static void CheckDecoder(JsonElement decoder, string path)
    {
        string type = TokenizerJsonFields.TypeOf(decoder, path, "decoder");
        bool byteLevel = type == "ByteLevel" ||
                         (type == "Sequence" && decoder.GetProperty("decoders").EnumerateArray().All(d => TokenizerJsonFields.Text(d, "type") == "ByteLevel"));
        if (!byteLevel) throw TokenizerJsonError.Unsupported(path, "decoder", Describe(decoder), "ByteLevel");
    }

    /// <summary>A component's type, with the types inside a Sequence, for error messages.</summary>
    private static string Describe(JsonElement component)
    {
        if (component.ValueKind != JsonValueKind.Object) return component.ValueKind.ToString().ToLowerInvariant();
        string type = TokenizerJsonFields.Text(component, "type") ?? "?";
        var inner = component.EnumerateObject().FirstOrDefault(p => p.Value.ValueKind == JsonValueKind.Array).Value;
        return type == "Sequence" && inner.ValueKind == JsonValueKind.Array
            ? $"Sequence[{string.Join(", ", inner.EnumerateArray().Select(Describe))}]"
            : type;
    }

    private static JsonElement Get(JsonElement root, string name, string path) =>
        root.TryGetProperty(name, out var v) ? v : throw TokenizerJsonError.Invalid(path, $"no \"{name}\"");

    private static JsonElement Parse(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON ({e.Message}).", e);
        }
    }
}
