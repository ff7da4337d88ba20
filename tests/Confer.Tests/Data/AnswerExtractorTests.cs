using Confer.Data;

namespace Confer.Tests.Data;

public class AnswerExtractorTests
{
    [Theory]
    [InlineData("She makes 9 * 2 = $18 every day.\n#### 18", "18")]
    [InlineData("#### 1,000", "1000")]
    [InlineData("The answer is 42. Then 7 more steps.", "42")]
    [InlineData("First 3 apples, then 5, so 8.", "8")]
    [InlineData("It costs $12.50.", "12.5")]
    [InlineData("Loss of -3 points", "-3")]
    [InlineData("values 1, 2, 3", "3")]
    [InlineData("18.00", "18")]
    public void NumberTakesMarkedOrLastNumber(string text, string expected) =>
        Assert.Equal(expected, AnswerExtractor.Number.Extract(text));

    [Fact]
    public void NumberNormalisesGoldLikePredictionsAndRejectsTextWithoutNumbers()
    {
        var gold = new QaRecord("q", null, "1,250");
        Assert.True(AnswerExtractor.Number.IsCorrect("so the total is $1250.", gold));
        Assert.False(AnswerExtractor.Number.IsCorrect("1251", gold));
        Assert.Null(AnswerExtractor.Number.Extract("no idea"));
    }

    [Theory]
    [InlineData("The answer is (C).", "C")]
    [InlineData("Answer: B", "B")]
    [InlineData("the correct answer is option D because", "D")]
    [InlineData("B. paralysis of the facial muscles", "B")]
    [InlineData("(A)", "A")]
    [InlineData("C", "C")]
    [InlineData("I think (B) is right, not (A) -- final: (D)", "D")]
    public void OptionLetterFindsTheLetter(string text, string expected) =>
        Assert.Equal(expected, AnswerExtractor.OptionLetter.Extract(text, new QaRecord("q", ["w", "x", "y", "z"], "A")));

    [Fact]
    public void OptionLetterIgnoresArticlesRespectsOptionCountAndMatchesOptionText()
    {
        var record = new QaRecord("q", ["Bladder", "Kidney", "Ureter"], "B");
        Assert.Null(AnswerExtractor.OptionLetter.Extract("A lesion of the nerve", record));
        Assert.Null(AnswerExtractor.OptionLetter.Extract("The answer is (D)", record)); // only A–C exist
        Assert.Equal("B", AnswerExtractor.OptionLetter.Extract("It is the kidney that filters blood.", record));
        Assert.Null(AnswerExtractor.OptionLetter.Extract("kidney or bladder", record)); // ambiguous
        Assert.True(AnswerExtractor.OptionLetter.IsCorrect("Answer: (B)", record));
    }

    [Theory]
    [InlineData("Yes, mitochondria are involved.", "yes")]
    [InlineData("Based on the results the answer is: maybe. No firm data.", "maybe")]
    [InlineData("There is no evidence of an effect.", "no")]
    [InlineData("NO.", "no")]
    public void YesNoMaybeFindsTheDecision(string text, string expected) =>
        Assert.Equal(expected, AnswerExtractor.YesNoMaybe.Extract(text));

    [Fact]
    public void ForPicksTheExtractorFromTheRecord()
    {
        Assert.Same(AnswerExtractor.OptionLetter, AnswerExtractor.For(new QaRecord("q", ["a", "b"], "A")));
        Assert.Same(AnswerExtractor.YesNoMaybe, AnswerExtractor.For(new QaRecord("q", null, "maybe")));
        Assert.Same(AnswerExtractor.Number, AnswerExtractor.For(new QaRecord("q", null, "18")));
        Assert.Null(AnswerExtractor.YesNoMaybe.Extract("Unclear."));
    }
}
