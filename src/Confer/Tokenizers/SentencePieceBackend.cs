using Microsoft.ML.Tokenizers;

namespace Confer.Tokenizers;

/// <summary>SentencePiece BPE with byte fallback from a <c>tokenizer.model</c> protobuf (LLaMA-style).</summary>
internal sealed class SentencePieceBackend : ITokenizerBackend
{
    private readonly LlamaTokenizer _tokenizer;

    public SentencePieceBackend(string modelPath)
    {
        try
        {
            using var stream = File.OpenRead(modelPath);
            // BOS/EOS are added by TextTokenizer so that every family follows the same rule.
            _tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new InvalidDataException($"'{modelPath}' is not a SentencePiece BPE model that Microsoft.ML.Tokenizers can load ({e.Message}). Unigram models are not supported.", e);
        }
        Defaults = new SpecialTokenIds(_tokenizer.BeginningOfSentenceId, _tokenizer.EndOfSentenceId, Pad: null, _tokenizer.UnknownId);
    }

    public TextTokenizerKind Kind => TextTokenizerKind.SentencePieceBpe;

    public IReadOnlyDictionary<string, int> Vocabulary => _tokenizer.Vocabulary;

    public int VocabSize => _tokenizer.Vocabulary.Count;

    public SpecialTokenIds Defaults { get; }

    public IReadOnlyList<int> Encode(string text) =>
        _tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: true, considerNormalization: true);

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) => _tokenizer.Decode(ids, considerSpecialTokens: !skipSpecialTokens);
}
