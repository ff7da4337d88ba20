using Confer.Reasoning.Suites;
using Confer.Tokenizers;

namespace Confer.Tests.Reasoning;

/// <summary>The digit-level encoder vocabulary: its lines, and how HF's WordPiece (via Microsoft.ML.Tokenizers) reads numbers with it.</summary>
public sealed class DigitWordPieceVocabularyTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "confer-digitvocab-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, true);
    }

    [Fact]
    public void Lines_are_specials_symbols_digits_continuations_then_words_sorted()
    {
        var lines = DigitWordPieceVocabulary.Build(["Ava has 12 pens. Ava buys 30 more?", "12 * 3 = 36."]);
        string[] expected =
        [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
            "*", ".", "=", "?",
            "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
            "##0", "##1", "##2", "##3", "##4", "##5", "##6", "##7", "##8", "##9",
            "ava", "buys", "has", "more", "pens",
        ];
        Assert.Equal(expected, lines);
    }

    [Fact]
    public void Numbers_are_read_digit_by_digit_and_words_whole()
    {
        DigitWordPieceVocabulary.Write(["Omar has 51 stickers. 51 + 24 = 75."], _folder);
        var tokenizer = TextTokenizer.FromPretrained(_folder);
        var ids = tokenizer.Encode("Omar has 51 stickers. 51 + 24 = 705.");
        string[] expected = ["omar", "has", "5", "##1", "stickers", ".", "5", "##1", "+", "2", "##4", "=", "7", "##0", "##5", "."];
        Assert.Equal(string.Join(" ", expected), string.Join(" ", ids.Select(id => VocabLine(id))));
        Assert.Equal(0, tokenizer.PadId);
        Assert.Equal(VocabIndex("[CLS]"), tokenizer.ClsId);
    }

    [Fact]
    public void A_token_mixing_letters_and_digits_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DigitWordPieceVocabulary.Build(["route 66b"]));
        Assert.Contains("66b", error.Message);
    }

    private string VocabLine(int id) => File.ReadAllLines(Path.Combine(_folder, "vocab.txt"))[id];

    private int VocabIndex(string token) => Array.IndexOf(File.ReadAllLines(Path.Combine(_folder, "vocab.txt")), token);
}
