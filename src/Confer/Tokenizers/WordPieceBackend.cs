using Microsoft.ML.Tokenizers;

namespace Confer.Tokenizers;

/// <summary>BERT WordPiece from <c>vocab.txt</c> (one token a line, id = line number).</summary>
internal sealed class WordPieceBackend : ITokenizerBackend
{
    private readonly BertTokenizer _tokenizer;

    public WordPieceBackend(string vocabPath, bool lowerCase)
    {
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        int id = 0;
        foreach (string line in File.ReadLines(vocabPath)) vocabulary.TryAdd(line.TrimEnd('\r'), id++);
        Vocabulary = vocabulary;
        VocabSize = id;
        _tokenizer = BertTokenizer.Create(vocabPath, new BertOptions { LowerCaseBeforeTokenization = lowerCase });
        Defaults = new SpecialTokenIds(
            Bos: null, Eos: null, _tokenizer.PaddingTokenId, _tokenizer.UnknownTokenId,
            _tokenizer.ClassificationTokenId, _tokenizer.SeparatorTokenId, _tokenizer.MaskingTokenId);
    }

    public TextTokenizerKind Kind => TextTokenizerKind.WordPiece;

    public IReadOnlyDictionary<string, int> Vocabulary { get; }

    public int VocabSize { get; }

    public SpecialTokenIds Defaults { get; }

    public IReadOnlyList<int> Encode(string text) =>
        _tokenizer.EncodeToIds(text, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true);

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) => _tokenizer.Decode(ids, skipSpecialTokens);
}
