using Confer.Chat;
using Confer.Tokenizers.TokenizerJson;

namespace Confer.Tokenizers;

/// <summary>
/// One tokenizer API over the families Confer meets (HF tokenizer.json byte-level BPE, SentencePiece BPE, GPT-2
/// byte-level BPE, BERT WordPiece),
/// loaded from a Hugging Face model folder with its special tokens, so data and generation code never branch on the
/// family. BOS/EOS are added only when asked, never implicitly.
/// </summary>
public sealed class TextTokenizer
{
    private readonly ITokenizerBackend _backend;
    private readonly SpecialTokenIds _special;

    private readonly bool _cleanUpSpaces;
    private readonly Lazy<ChatTemplate?> _chatTemplate;

    private TextTokenizer(ITokenizerBackend backend, SpecialTokenIds special, bool cleanUpSpaces, Lazy<ChatTemplate?> chatTemplate)
    {
        _backend = backend;
        _special = special;
        _cleanUpSpaces = cleanUpSpaces;
        _chatTemplate = chatTemplate;
    }

    /// <summary>
    /// The folder's chat template, or null when it has none. Read on first use, so a template beyond Confer's Jinja
    /// subset only fails the code that needs it.
    /// </summary>
    public ChatTemplate? ChatTemplate => _chatTemplate.Value;

    public TextTokenizerKind Kind => _backend.Kind;

    /// <summary>Number of token ids (the model's embedding rows must cover them).</summary>
    public int VocabSize => _backend.VocabSize;

    public int? BosId => _special.Bos;

    public int? EosId => _special.Eos;

    public int? PadId => _special.Pad;

    public int? UnkId => _special.Unk;

    /// <summary>BERT's [CLS]; null for decoder-only tokenizers unless their config names one.</summary>
    public int? ClsId => _special.Cls;

    /// <summary>BERT's [SEP].</summary>
    public int? SepId => _special.Sep;

    /// <summary>BERT's [MASK].</summary>
    public int? MaskId => _special.Mask;

    /// <summary>
    /// Loads the tokenizer in <paramref name="folder"/>, trying in order: <c>tokenizer.json</c> when it is byte-level
    /// BPE (Llama 3, Qwen2/2.5/3; a SentencePiece-style or WordPiece tokenizer.json stands beside the original files,
    /// which are read instead), <c>tokenizer.model</c> (SentencePiece BPE),
    /// <c>vocab.json</c> + <c>merges.txt</c> or <c>encoder.json</c> + <c>vocab.bpe</c> (GPT-2 BPE), <c>vocab.txt</c>
    /// (WordPiece). Special tokens come from the folder's <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c>
    /// and <c>config.json</c> when present, else the family's defaults.
    /// </summary>
    public static TextTokenizer FromPretrained(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Tokenizer folder '{folder}' does not exist.");
        var backend = CreateBackend(folder);
        return new TextTokenizer(backend, SpecialTokenConfig.Resolve(folder, backend.Vocabulary, backend.Defaults), SpecialTokenConfig.CleanUpSpaces(folder),
            new Lazy<ChatTemplate?>(() => ChatTemplate.FromModelFolder(folder)));
    }

    /// <summary>Token ids of <paramref name="text"/>, with BOS and/or EOS when asked.</summary>
    /// <exception cref="InvalidOperationException">BOS or EOS was asked for but this tokenizer has none.</exception>
    public IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var body = _backend.Encode(text);
        if (!addBos && !addEos) return body;
        var ids = new List<int>(body.Count + 2);
        if (addBos) ids.Add(BosId ?? throw NoSuchToken("BOS"));
        ids.AddRange(body);
        if (addEos) ids.Add(EosId ?? throw NoSuchToken("EOS"));
        return ids;
    }

    /// <summary>
    /// Token ids of <paramref name="text"/> with the special tokens the tokenizer itself adds (Hugging Face's
    /// <c>add_special_tokens=True</c>): tokenizer.json's post-processor (Llama 3.1: BOS; Qwen: none), BOS for
    /// SentencePiece, [CLS] … [SEP] for WordPiece, nothing for GPT-2 BPE.
    /// </summary>
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text)
    {
        var (prefix, suffix) = _backend.SpecialTokenTemplate ?? Kind switch
        {
            TextTokenizerKind.SentencePieceBpe => (Ids(BosId), []),
            TextTokenizerKind.WordPiece => (Ids(ClsId), Ids(SepId)),
            _ => ((IReadOnlyList<int>)[], (IReadOnlyList<int>)[]),
        };
        return [.. prefix, .. Encode(text), .. suffix];
    }

    private static IReadOnlyList<int> Ids(int? id) => id is { } value ? [value] : [];

    /// <summary>
    /// The text of <paramref name="ids"/>; special tokens (BOS, EOS, PAD, CLS, ...) are dropped unless asked for. When
    /// tokenizer_config.json says <c>clean_up_tokenization_spaces</c>, spaces before punctuation and English
    /// contractions are removed as transformers does (" ." → ".", " n't" → "n't").
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var text = _backend.Decode(ids, skipSpecialTokens);
        return _cleanUpSpaces ? CleanUpSpaces(text) : text;
    }

    /// <summary>transformers' <c>clean_up_tokenization</c>, replacement for replacement.</summary>
    private static string CleanUpSpaces(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal).Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal).Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal).Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal).Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal).Replace(" 're", "'re", StringComparison.Ordinal);

    /// <summary>The text of each token on its own, special tokens included (what <c>confer tokenize</c> prints).</summary>
    public IReadOnlyList<string> Pieces(IEnumerable<int> ids) => ids.Select(id => _backend.Decode([id], skipSpecialTokens: false)).ToList();

    /// <summary>Every token of the vocabulary with its id.</summary>
    internal IReadOnlyDictionary<string, int> Vocabulary => _backend.Vocabulary;

    /// <summary>The id of a token string, or null when it is not in the vocabulary (e.g. to find a stop token).</summary>
    public int? TokenToId(string token) => _backend.Vocabulary.TryGetValue(token, out int id) ? id : null;

    /// <summary>
    /// BERT-style input for one or two segments: <c>[CLS] a [SEP]</c> or <c>[CLS] a [SEP] b [SEP]</c> with token type
    /// ids 0 for the first segment and 1 for the second. When too long, tokens are dropped one at a time from the end
    /// of the longer segment (the second on ties), as Hugging Face's <c>longest_first</c> truncation does. No padding.
    /// </summary>
    public (int[] Ids, int[] TypeIds) EncodePair(string a, string? b, int maxLength)
    {
        int cls = ClsId ?? throw NoSuchToken("CLS");
        int sep = SepId ?? throw NoSuchToken("SEP");
        int specials = b is null ? 2 : 3;
        if (maxLength < specials) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"Need room for at least the {specials} special tokens.");

        var first = _backend.Encode(a).ToList();
        var second = b is null ? [] : _backend.Encode(b).ToList();
        while (first.Count + second.Count + specials > maxLength)
        {
            if (first.Count > second.Count) first.RemoveAt(first.Count - 1);
            else second.RemoveAt(second.Count - 1);
        }

        var ids = new List<int>(maxLength) { cls };
        ids.AddRange(first);
        ids.Add(sep);
        int firstSegment = ids.Count;
        if (b is not null)
        {
            ids.AddRange(second);
            ids.Add(sep);
        }
        var typeIds = new int[ids.Count];
        typeIds.AsSpan(firstSegment).Fill(1);
        return (ids.ToArray(), typeIds);
    }

    private static ITokenizerBackend CreateBackend(string folder)
    {
        string P(string name) => Path.Combine(folder, name);
        if (File.Exists(P("tokenizer.json")))
        {
            try
            {
                return new TokenizerJsonBackend(P("tokenizer.json"));
            }
            catch (NotByteLevelException) when (File.Exists(P("tokenizer.model")) || File.Exists(P("vocab.txt")))
            {
                // A SentencePiece-style or WordPiece tokenizer.json is the same tokenizer as the original file beside it.
            }
        }
        if (File.Exists(P("tokenizer.model"))) return new SentencePieceBackend(P("tokenizer.model"));
        if (File.Exists(P("vocab.json")) && File.Exists(P("merges.txt"))) return new ByteLevelBpeBackend(P("vocab.json"), P("merges.txt"));
        if (File.Exists(P("encoder.json")) && File.Exists(P("vocab.bpe"))) return new ByteLevelBpeBackend(P("encoder.json"), P("vocab.bpe"));
        if (File.Exists(P("vocab.txt"))) return new WordPieceBackend(P("vocab.txt"), SpecialTokenConfig.LowerCase(folder), SpecialTokenConfig.StripAccents(folder), SpecialTokenConfig.SplitCjk(folder));
        throw new FileNotFoundException(
            $"No tokenizer in '{folder}': expected tokenizer.json (byte-level BPE), tokenizer.model (SentencePiece BPE), vocab.json + merges.txt or encoder.json + vocab.bpe (GPT-2 BPE), or vocab.txt (BERT WordPiece).");
    }

    private InvalidOperationException NoSuchToken(string which) =>
        new($"This {Kind} tokenizer has no {which} token. Name one in the model folder's tokenizer_config.json or config.json.");
}
