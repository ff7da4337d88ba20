using Confer.Tokenizers;

namespace Confer.Tests;

public sealed class TextTokenizerTests : IDisposable
{
    private static readonly Lazy<TextTokenizer> Llama = new(() => TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "llama2")));
    private static readonly Lazy<TextTokenizer> Gpt2 = new(() => TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "gpt2")));
    private static readonly Lazy<TextTokenizer> Bert = new(() => TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "bert-base-uncased")));

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void LlamaSentencePieceGivesKnownIdsAndRoundTrips()
    {
        var tok = Llama.Value;
        Assert.Equal(TextTokenizerKind.SentencePieceBpe, tok.Kind);
        Assert.Equal([1, 15043, 3186], tok.Encode("Hello world", addBos: true));
        Assert.Equal([15043, 3186, 2], tok.Encode("Hello world", addEos: true));
        Assert.Equal((32000, 1, 2, 0), (tok.VocabSize, tok.BosId!.Value, tok.EosId!.Value, tok.UnkId!.Value));
        Assert.Null(tok.PadId);

        const string text = "Once upon a time, naïve café 😀 <s> x";
        Assert.Equal(text, tok.Decode(tok.Encode(text, addBos: true, addEos: true)));
        Assert.Equal("<s>Hello world</s>", tok.Decode([1, 15043, 3186, 2], skipSpecialTokens: false));
    }

    [Fact]
    public void Gpt2ByteLevelBpeGivesKnownIdsAndRoundTrips()
    {
        var tok = Gpt2.Value;
        Assert.Equal(TextTokenizerKind.ByteLevelBpe, tok.Kind);
        Assert.Equal([31373, 995], tok.Encode("hello world"));
        // Runs of spaces stay inside GPT-2's vocabulary (CodeGenTokenizer would emit its own id 50284 here).
        Assert.Equal([64, 220, 220, 220, 275], tok.Encode("a    b"));
        Assert.Equal((50257, 50256, 50256), (tok.VocabSize, tok.BosId!.Value, tok.EosId!.Value));

        const string text = "def f():\n    return 'naïve' 日本 😀\n\n";
        Assert.Equal(text, tok.Decode(tok.Encode(text)));
        Assert.Equal([31373, 995, 50256], tok.Encode("hello world", addEos: true));
        Assert.Equal("hello world", tok.Decode([31373, 995, 50256]));
        Assert.Equal("hello world<|endoftext|>", tok.Decode([31373, 995, 50256], skipSpecialTokens: false));
    }

    [Fact]
    public void BertWordPieceGivesKnownIdsAndSpecialTokens()
    {
        var tok = Bert.Value;
        Assert.Equal(TextTokenizerKind.WordPiece, tok.Kind);
        Assert.Equal([7592, 2088], tok.Encode("Hello world"));
        Assert.Equal((30522, 101, 102, 0, 103, 100), (tok.VocabSize, tok.ClsId!.Value, tok.SepId!.Value, tok.PadId!.Value, tok.MaskId!.Value, tok.UnkId!.Value));
        Assert.Null(tok.BosId);

        var (ids, types) = tok.EncodePair("hello world", null, maxLength: 16);
        Assert.Equal([101, 7592, 2088, 102], ids);
        Assert.Equal([0, 0, 0, 0], types);
        Assert.Equal("hello world", tok.Decode(ids));
        Assert.Throws<InvalidOperationException>(() => tok.Encode("x", addBos: true));
    }

    /// <summary>
    /// transformers' BasicTokenizer splits off every ASCII symbol as punctuation and keeps non-ASCII symbols inside the
    /// word; Microsoft.ML.Tokenizers' default BERT pre-tokenizer dropped <c>+ = &lt; &gt; ^ ~ | $</c> and <c>×</c>. The
    /// expected pieces are read off vocab.txt by hand.
    /// </summary>
    [Fact]
    public void BertKeepsSymbolsAsTransformersDoes()
    {
        var tok = Bert.Value;
        var vocab = File.ReadAllLines(SharedDataPath.Of("tokenizers", "bert-base-uncased", "vocab.txt"));
        string[] expected = ["18", "+", "17", "=", "35", ";", "a", "<", "b", ">", "c", "^", "~", "|", "$", "4", "3", "##×", "##4", "[SEP]", "中", "文"];
        Assert.Equal(expected, tok.Encode("18 + 17 = 35; a<b>c ^ ~ | $4 3×4 [SEP] 中文").Select(id => vocab[id]).ToArray());
        // Uncased: accents stripped as unicodedata's NFD + drop Mn does ("Ménière" → "meniere"), not read as [UNK].
        Assert.Equal(["cafe", "naive", "resume"], tok.Encode("Café naïve RÉSUMÉ").Select(id => vocab[id]).ToArray());
    }

    /// <summary>Accent stripping against values from Python's unicodedata (NFD, drop category Mn), written out by hand.</summary>
    [Theory]
    [InlineData("é", "e")]
    [InlineData("Ångström", "Angstrom")]
    [InlineData("e\u0301", "e")]
    [InlineData("ǖ", "u")]
    [InlineData("ﬁ", "ﬁ")]
    [InlineData("한", "\u1112\u1161\u11AB")]
    [InlineData("가", "\u1100\u1161")]
    [InlineData("ά", "α")]
    public void StripAccentsMatchesUnicodedata(string input, string expected) => Assert.Equal(expected, BertBasicTokenizer.StripAccents(input));

    [Fact]
    public void BertPairsGetSegmentIdsAndLongestFirstTruncation()
    {
        var tok = Bert.Value;
        var a = tok.Encode("one two three four five six seven eight nine ten");
        var b = tok.Encode("red green blue black");
        Assert.Equal((10, 4), (a.Count, b.Count));

        var (ids, types) = tok.EncodePair("one two three four five six seven eight nine ten", "red green blue black", maxLength: 64);
        Assert.Equal([101, .. a, 102, .. b, 102], ids);
        Assert.Equal([.. Enumerable.Repeat(0, 12), .. Enumerable.Repeat(1, 5)], types);

        // 11 = 3 specials + 8: the longer segment shrinks to 4, then both are equal and nothing more is needed.
        (ids, types) = tok.EncodePair("one two three four five six seven eight nine ten", "red green blue black", maxLength: 11);
        Assert.Equal([101, .. a.Take(4), 102, .. b, 102], ids);
        Assert.Equal(5, types.Count(t => t == 1));

        // 10 = 3 + 7: after 4/4 the tie is broken by cutting the second segment.
        (ids, _) = tok.EncodePair("one two three four five six seven eight nine ten", "red green blue black", maxLength: 10);
        Assert.Equal([101, .. a.Take(4), 102, .. b.Take(3), 102], ids);
    }

    [Fact]
    public void SpecialTokensComeFromTheFolderConfigFiles()
    {
        File.Copy(SharedDataPath.Of("tokenizers", "llama2", "tokenizer.model"), _dir.File("tokenizer.model"));
        File.WriteAllText(_dir.File("config.json"), """{"bos_token_id": 1, "eos_token_id": [13, 2], "pad_token_id": 0}""");
        var fromConfig = TextTokenizer.FromPretrained(_dir.Path);
        Assert.Equal((1, 13, 0), (fromConfig.BosId!.Value, fromConfig.EosId!.Value, fromConfig.PadId!.Value));

        // tokenizer_config.json wins over config.json and may use the {"content": ...} form.
        File.WriteAllText(_dir.File("tokenizer_config.json"), """{"eos_token": {"content": "</s>"}, "pad_token": null}""");
        File.WriteAllText(_dir.File("special_tokens_map.json"), """{"pad_token": "<unk>", "eos_token": "<s>"}""");
        var fromTokenizerConfig = TextTokenizer.FromPretrained(_dir.Path);
        Assert.Equal((2, 0), (fromTokenizerConfig.EosId!.Value, fromTokenizerConfig.PadId!.Value));

        File.WriteAllText(_dir.File("tokenizer_config.json"), """{"pad_token": "<pad>"}""");
        var e = Assert.Throws<InvalidDataException>(() => TextTokenizer.FromPretrained(_dir.Path));
        Assert.Contains("tokenizer_config.json", e.Message);
        Assert.Contains("<pad>", e.Message);
    }

    [Fact]
    public void CasedBertFolderKeepsCase()
    {
        File.Copy(SharedDataPath.Of("tokenizers", "bert-base-uncased", "vocab.txt"), _dir.File("vocab.txt"));
        File.WriteAllText(_dir.File("tokenizer_config.json"), """{"do_lower_case": false, "pad_token": "[unused0]"}""");
        var tok = TextTokenizer.FromPretrained(_dir.Path);
        Assert.NotEqual([7592, 2088], tok.Encode("Hello world"));
        Assert.Equal([7592, 2088], tok.Encode("hello world"));
        Assert.Equal(1, tok.PadId);
    }

    [Fact]
    public void BertTokenizerFlagsAreHonouredAndGarbageIsRefused()
    {
        File.Copy(SharedDataPath.Of("tokenizers", "bert-base-uncased", "vocab.txt"), _dir.File("vocab.txt"));
        File.WriteAllText(_dir.File("tokenizer_config.json"), """{"do_lower_case": true, "strip_accents": false}""");
        var vocab = File.ReadAllLines(_dir.File("vocab.txt"));
        // Lower-cased but accents kept: "café" is not in the vocabulary, so WordPiece reads it as [UNK] (as transformers does).
        Assert.Equal(["[UNK]"], TextTokenizer.FromPretrained(_dir.Path).Encode("Café").Select(id => vocab[id]).ToArray());

        File.WriteAllText(_dir.File("tokenizer_config.json"), """{"strip_accents": "yes"}""");
        var e = Assert.Throws<InvalidDataException>(() => TextTokenizer.FromPretrained(_dir.Path));
        Assert.Contains("strip_accents", e.Message);
    }

    [Fact]
    public void FoldersWithoutATokenizerGiveClearErrors()
    {
        Assert.Throws<DirectoryNotFoundException>(() => TextTokenizer.FromPretrained(_dir.File("missing")));
        var e = Assert.Throws<FileNotFoundException>(() => TextTokenizer.FromPretrained(_dir.Path));
        Assert.Contains("tokenizer.model", e.Message);
        Assert.Contains("vocab.txt", e.Message);
        Assert.Contains("tokenizer.json", e.Message);
        File.WriteAllText(_dir.File("tokenizer.json"), "{}");
        var bad = Assert.Throws<InvalidDataException>(() => TextTokenizer.FromPretrained(_dir.Path));
        Assert.Contains("tokenizer.json: no \"pre_tokenizer\"", bad.Message);
    }
}
