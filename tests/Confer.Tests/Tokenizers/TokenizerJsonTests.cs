using System.Text.Json;
using Confer.Tokenizers;

namespace Confer.Tests;

/// <summary>
/// Real Llama 3 and Qwen3 <c>tokenizer.json</c> files against ids computed by an independent implementation of HF
/// tokenizers (<c>reference_encodings.json</c> in ../shared/data/tokenizers, see PROVENANCE.md there).
/// </summary>
public sealed class TokenizerJsonTests : IDisposable
{
    internal static readonly Lazy<TextTokenizer> Llama3 = new(() => TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "llama3")));
    internal static readonly Lazy<TextTokenizer> Qwen3 = new(() => TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "qwen3")));

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, int> Texts()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in new[] { "llama3", "qwen3" })
            for (int i = 0; i < Reference(name).GetProperty("texts").GetArrayLength(); i++) data.Add(name, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void EveryReferenceTextGivesTheReferenceIdsAndDecodesBack(string name, int index)
    {
        var tok = Tokenizer(name);
        var entry = Reference(name).GetProperty("texts")[index];
        string text = entry.GetProperty("text").GetString()!;
        Assert.Equal(Ids(entry.GetProperty("ids_no_special")), tok.Encode(text));
        Assert.Equal(Ids(entry.GetProperty("ids_with_special")), tok.EncodeWithSpecialTokens(text));
        Assert.Equal(text, tok.Decode(tok.Encode(text), skipSpecialTokens: false));
    }

    [Fact]
    public void Llama3FolderReadsTokenizerJsonAndItsSpecialTokens()
    {
        var tok = Llama3.Value;
        Assert.Equal(TextTokenizerKind.TokenizerJsonByteLevelBpe, tok.Kind);
        Assert.Equal((128256, 128000, 128001), (tok.VocabSize, tok.BosId!.Value, tok.EosId!.Value));
        Assert.Equal(128009, tok.TokenToId("<|eot_id|>"));
        Assert.Equal("Hello", tok.Decode([128000, 9906, 128009]));
        Assert.Equal("<|begin_of_text|>Hello<|eot_id|>", tok.Decode([128000, 9906, 128009], skipSpecialTokens: false));
        Assert.Equal(["Hello", ",", " world"], tok.Pieces([9906, 11, 1917]));
    }

    [Fact]
    public void QwenNormalizesToNfcAndMatchesNonSpecialAddedTokens()
    {
        var tok = Qwen3.Value;
        Assert.Equal((151645, 151643), (tok.EosId!.Value, tok.PadId!.Value));
        Assert.Null(tok.BosId);
        // "e" + U+0301 is "é" after NFC, so both spellings give the same ids (reference: "café" in reference_encodings.json).
        Assert.Equal(tok.Encode("café"), tok.Encode("cafe\u0301"));
        // <think> is an added token that is not special: matched in text, and kept when decoding skips special tokens.
        var ids = tok.Encode("<|im_start|><think>x");
        Assert.Equal([151644, tok.TokenToId("<think>")!.Value, tok.TokenToId("x")!.Value], ids);
        Assert.Equal("<think>x", tok.Decode(ids));
    }

    [Fact]
    public void SplitRegexSeesLettersAndDigitsOutsideTheBmpAsOneCodePointEach()
    {
        // Llama 3's own pattern. U+20000 (CJK Extension B) is a letter and U+1D7CF.. are decimal digits (mathematical
        // bold 1, 2, 3, 4); HF matches code points, so "a𠀀b" is one \p{L}+ piece and \p{N}{1,3} takes three digits.
        var split = new Confer.Tokenizers.TokenizerJson.RegexSplit(new System.Text.RegularExpressions.Regex(
            @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"), keepMatches: true);
        var pieces = new List<string>();
        split.Split("a\U00020000b c \U0001D7CF\U0001D7D0\U0001D7D1\U0001D7D2!", pieces);
        Assert.Equal(["a\U00020000b", " c", " ", "\U0001D7CF\U0001D7D0\U0001D7D1", "\U0001D7D2", "!"], pieces);
    }

    [Fact]
    public void UnsupportedComponentsAreRefusedByName()
    {
        var source = File.ReadAllText(SharedDataPath.Of("tokenizers", "qwen3", "tokenizer.json"));
        var cases = new (string From, string To, string Expected)[]
        {
            ("\"normalizer\": {\n    \"type\": \"NFC\"\n  }", "\"normalizer\": {\"type\": \"Lowercase\"}", "normalizer type 'Lowercase'"),
            ("\"dropout\": null", "\"dropout\": 0.1", "dropout = 0.1"),
            ("\"truncation\": null", "\"truncation\": {\"max_length\": 8}", "truncation"),
            ("\"behavior\": \"Isolated\"", "\"behavior\": \"MergedWithNext\"", "behavior = MergedWithNext"),
        };
        foreach (var (from, to, expected) in cases)
        {
            Assert.Contains(from, source);
            var folder = Directory.CreateDirectory(_dir.File(Guid.NewGuid().ToString("N"))).FullName;
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), source.Replace(from, to));
            var e = Assert.ThrowsAny<Exception>(() => TextTokenizer.FromPretrained(folder));
            Assert.True(e is NotSupportedException or InvalidDataException, e.ToString());
            Assert.Contains("tokenizer.json", e.Message);
            Assert.Contains(expected, e.Message);
        }
    }

    [Fact]
    public void SentencePieceStyleTokenizerJsonDefersToTokenizerModelAndIsRefusedAlone()
    {
        // TinyLlama and Mistral ship a Metaspace/ByteFallback tokenizer.json next to tokenizer.model.
        const string metaspace = """
            {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
             "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
             "post_processor": null, "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
             "model": {"type": "BPE", "vocab": {}, "merges": []}}
            """;
        var folder = Directory.CreateDirectory(_dir.File("sentencepiece")).FullName;
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), metaspace);
        var e = Assert.Throws<Confer.Tokenizers.TokenizerJson.NotByteLevelException>(() => TextTokenizer.FromPretrained(folder));
        Assert.Contains("pre_tokenizer type 'Metaspace'", e.Message);
        File.Copy(SharedDataPath.Of("tokenizers", "llama2", "tokenizer.model"), Path.Combine(folder, "tokenizer.model"));
        var tok = TextTokenizer.FromPretrained(folder);
        Assert.Equal(TextTokenizerKind.SentencePieceBpe, tok.Kind);
        Assert.Equal([1, 15043, 3186], tok.EncodeWithSpecialTokens("Hello world"));
    }

    internal static TextTokenizer Tokenizer(string name) => name == "llama3" ? Llama3.Value : Qwen3.Value;

    internal static JsonElement Reference(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(SharedDataPath.Of("tokenizers", name, "reference_encodings.json")));
        return doc.RootElement.Clone();
    }

    internal static int[] Ids(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
