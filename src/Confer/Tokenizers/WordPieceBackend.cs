using Microsoft.ML.Tokenizers;

namespace Confer.Tokenizers;

/// <summary>
/// BERT WordPiece from <c>vocab.txt</c> (one token a line, id = line number). Words come from
/// <see cref="BertBasicTokenizer"/> (transformers' rules); Microsoft.ML.Tokenizers does only the WordPiece step, so its
/// own basic tokenization, which differs from transformers', is switched off.
/// </summary>
internal sealed class WordPieceBackend : ITokenizerBackend
{
    private static readonly string[] SpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    private readonly BertTokenizer _tokenizer;
    private readonly BertBasicTokenizer _basic;

    /// <param name="vocabPath">The vocab.txt file.</param>
    /// <param name="lowerCase">do_lower_case.</param>
    /// <param name="stripAccents">strip_accents (transformers: when unset, follows do_lower_case).</param>
    /// <param name="splitCjk">tokenize_chinese_chars.</param>
    public WordPieceBackend(string vocabPath, bool lowerCase, bool stripAccents, bool splitCjk)
    {
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        int id = 0;
        foreach (string line in File.ReadLines(vocabPath)) vocabulary.TryAdd(line.TrimEnd('\r'), id++);
        Vocabulary = vocabulary;
        VocabSize = id;
        _basic = new BertBasicTokenizer(lowerCase, stripAccents, splitCjk, SpecialTokens.Where(vocabulary.ContainsKey).ToHashSet(StringComparer.Ordinal));
        _tokenizer = BertTokenizer.Create(vocabPath, new BertOptions
        {
            LowerCaseBeforeTokenization = false, ApplyBasicTokenization = false, RemoveNonSpacingMarks = false, IndividuallyTokenizeCjk = false,
            PreTokenizer = PreTokenizer.CreateWhiteSpace(),
        });
        Defaults = new SpecialTokenIds(
            Bos: null, Eos: null, _tokenizer.PaddingTokenId, _tokenizer.UnknownTokenId,
            _tokenizer.ClassificationTokenId, _tokenizer.SeparatorTokenId, _tokenizer.MaskingTokenId);
    }

    public TextTokenizerKind Kind => TextTokenizerKind.WordPiece;

    public IReadOnlyDictionary<string, int> Vocabulary { get; }

    public int VocabSize { get; }

    public SpecialTokenIds Defaults { get; }

    public IReadOnlyList<int> Encode(string text) =>
        _tokenizer.EncodeToIds(string.Join(' ', _basic.Split(text)), addSpecialTokens: false, considerPreTokenization: true, considerNormalization: false);

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) => _tokenizer.Decode(ids, skipSpecialTokens);
}
