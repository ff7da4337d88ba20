using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Confer.Tokenizers;

/// <summary>
/// GPT-2 byte-level BPE. Built on <see cref="BpeTokenizer"/> with GPT-2's pre-tokenisation regex rather than
/// <c>CodeGenTokenizer</c>, which adds CodeGen's whitespace-run tokens (ids 50257+) and so encodes "a    b" to an
/// id outside GPT-2's vocabulary.
/// </summary>
internal sealed partial class ByteLevelBpeBackend : ITokenizerBackend
{
    private const string EndOfText = "<|endoftext|>";
    private readonly BpeTokenizer _tokenizer;

    public ByteLevelBpeBackend(string vocabPath, string mergesPath)
    {
        var vocabulary = ReadVocabulary(vocabPath);
        var special = vocabulary.TryGetValue(EndOfText, out int eot) ? new Dictionary<string, int> { [EndOfText] = eot } : new Dictionary<string, int>();
        _tokenizer = BpeTokenizer.Create(new BpeOptions(vocabPath, mergesPath)
        {
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(Gpt2Split(), special),
            SpecialTokens = special,
        });
        Vocabulary = vocabulary;
        VocabSize = vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1;
        int? endOfText = special.Count > 0 ? eot : null;
        Defaults = new SpecialTokenIds(endOfText, endOfText, Pad: null, endOfText);
    }

    public TextTokenizerKind Kind => TextTokenizerKind.ByteLevelBpe;

    public IReadOnlyDictionary<string, int> Vocabulary { get; }

    public int VocabSize { get; }

    public SpecialTokenIds Defaults { get; }

    public IReadOnlyList<int> Encode(string text) => _tokenizer.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) => _tokenizer.Decode(ids, considerSpecialTokens: !skipSpecialTokens);

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(path))
                ?? throw new InvalidDataException($"'{path}' is empty; expected a JSON object token → id.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a JSON object token → id ({e.Message}).", e);
        }
    }

    /// <summary>GPT-2's pre-tokenisation pattern (from its <c>encoder.py</c>).</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Split();
}
