using Confer.Models;
using Confer.Tests.Data;
using Confer.Tokenizers;
using Confer.Training.Generation;

namespace Confer.Tests.Generation;

public sealed class CompletionGeneratorTests : IDisposable
{
    private const string Prompt = "Question: Natalia sold clips to 48 of her friends. How many clips did she sell?\nAnswer:";

    private readonly CausalLanguageModel _model = ModelFactory.LoadCausalLM(ModelFolder);
    private readonly TextTokenizer _tokenizer = TextTokenizer.FromPretrained(ModelFolder);

    public static string ModelFolder => Path.Combine(DataPaths.RepoRoot, "models", "confer-base");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _model.Dispose();

    [Fact]
    public void RowSeedsSampleEachRowAsABatchOfOneWithThatSeed()
    {
        using var model = TinyModels.Llama();
        var generator = new TokenGenerator(model);
        int[][] prompts = [[1, 5, 9, 22], [1, 5, 9, 22], [1, 40]];
        long[] seeds = [3, 99, -7];
        var options = new GenerationOptions { MaxNewTokens = 12, Temperature = 1.3, TopP = 0.95 };
        var batched = generator.Generate(prompts, options with { RowSeeds = seeds });
        for (var b = 0; b < prompts.Length; b++)
            Assert.Equal(generator.Generate([prompts[b]], options with { Seed = seeds[b] })[0], batched[b]);
        // Two rows with one prompt and different seeds draw different tokens.
        Assert.NotEqual(batched[0], batched[1]);
        Assert.Throws<ArgumentException>(() => generator.Generate(prompts, options with { RowSeeds = [1, 2] }));
    }

    [Fact]
    public void ChoiceZeroIsTextGeneratorWithTheSameSeedAndOtherChoicesDoNotDependOnN()
    {
        var completions = new CompletionGenerator(_model, _tokenizer);
        var options = new GenerationOptions { MaxNewTokens = 24, Temperature = 0.9, TopP = 0.95, Seed = 2024, StopStrings = ["\n\n"] };
        var three = completions.Generate([completions.Encode(Prompt)], 3, options, ct: Ct);
        // Oracle: the pre-existing prompt-to-text path (confer generate) with the same seed.
        Assert.Equal(new TextGenerator(_model, _tokenizer).Generate([Prompt], options)[0], three[0].Text);
        var alone = completions.Generate([completions.Encode(Prompt)], 1, options with { Seed = CompletionGenerator.ChoiceSeed(2024, 2) }, ct: Ct);
        Assert.Equal(three[2].Text, alone[0].Text);
        Assert.Equal(3, three.Select(c => c.Text).Distinct().Count());
        Assert.Equal(2024, CompletionGenerator.ChoiceSeed(2024, 0));
        Assert.NotEqual(CompletionGenerator.ChoiceSeed(2024, 1), CompletionGenerator.ChoiceSeed(2025, 0));
    }

    [Fact]
    public void FinishReasonsAndTokenCountsFollowEosStopStringsAndLength()
    {
        var completions = new CompletionGenerator(_model, _tokenizer);
        var greedy = new GenerationOptions { MaxNewTokens = 30 };
        var full = completions.Generate([completions.Encode(Prompt)], 1, greedy, ct: Ct)[0];
        Assert.Equal((FinishReason.Length, 30), (full.Finish, full.Tokens));
        Assert.Equal(_tokenizer.Decode(new TokenGenerator(_model).Generate([completions.Encode(Prompt)], greedy, _tokenizer.EosId)[0]), full.Text);

        // A stop string taken from inside the greedy text: the text ends just before it, generation right after it.
        var stop = full.Text.Substring(full.Text.Length / 2, 3);
        var cut = completions.Generate([completions.Encode(Prompt)], 1, greedy with { StopStrings = [stop] }, ct: Ct)[0];
        Assert.Equal(full.Text[..full.Text.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(FinishReason.Stop, cut.Finish);
        Assert.True(cut.Tokens < 30);
        Assert.Contains(stop, _tokenizer.Decode(new TokenGenerator(_model).Generate([completions.Encode(Prompt)], greedy with { MaxNewTokens = cut.Tokens })[0]));

        // The model's EOS: confer-base was pretrained on GSM8K, whose solutions end with "#### answer" and then the
        // end of the document, so the first token it chooses here is EOS — not part of the text, and a "stop".
        const string solved = "Natalia sold 48 clips. How many clips did she sell?\nNatalia sold 48/2 = <<48/2=24>>24 clips.\n#### 24";
        Assert.Equal(_tokenizer.EosId, new TokenGenerator(_model).Generate([completions.Encode(solved)], greedy with { MaxNewTokens = 1 })[0][0]);
        Assert.Equal(new Completion("", 0, FinishReason.Stop), completions.Generate([completions.Encode(solved)], 1, greedy, ct: Ct)[0]);
    }

    [Theory]
    [InlineData(1.0, 0.98, 5)]
    [InlineData(1.6, 1.0, 6)]
    public void StreamedPiecesAddUpToTheTextAndNeverRunPastAStop(double temperature, double topP, long seed)
    {
        var completions = new CompletionGenerator(_model, _tokenizer);
        var options = new GenerationOptions { MaxNewTokens = 40, Temperature = temperature, TopP = topP, Seed = seed, StopStrings = ["\nQuestion:", "= 1"] };
        var pieces = new List<(int Choice, string Text)>();
        var streamed = completions.Generate([completions.Encode(Prompt), completions.Encode("Once upon a time")], 3, options, (c, t) => pieces.Add((c, t)), Ct);
        var plain = completions.Generate([completions.Encode(Prompt), completions.Encode("Once upon a time")], 3, options, ct: Ct);
        Assert.Equal(plain, streamed);
        for (var c = 0; c < 6; c++)
        {
            Assert.Equal(streamed[c].Text, string.Concat(pieces.Where(p => p.Choice == c).Select(p => p.Text)));
            Assert.DoesNotContain('\uFFFD', streamed[c].Text);
        }
        Assert.True(pieces.Count > 6, "text arrives in pieces, not once per choice");
    }

    [Fact]
    public void HeldBackTextIsAStopPrefixOrAnUnfinishedCharacter()
    {
        // "é" and "日" are byte-fallback tokens in this 512-piece vocabulary: one UTF-8 byte per token.
        var ids = _tokenizer.Encode("ab\nUs日é");
        var text = new ChoiceText(_tokenizer, ["\nUser:"]);
        var released = new List<string>();
        for (var n = 1; n <= ids.Count; n++) released.Add(text.Push([.. ids.Take(n)]));
        Assert.All(released, r => Assert.DoesNotContain('\uFFFD', r));
        // "\nUs" could still become "\nUser:" until "日" arrives; the three bytes of 日 come out as one character.
        Assert.DoesNotContain(released, r => r.EndsWith("\nUs", StringComparison.Ordinal));
        Assert.Contains(released, r => r.Contains("\nUs日", StringComparison.Ordinal) || r == "日");
        Assert.Equal("ab\nUs日é", string.Concat(released) + text.Finish(ids));
        Assert.False(text.Stopped);

        var stopped = new ChoiceText(_tokenizer, ["\nUser:"]);
        var stopIds = _tokenizer.Encode("hi\nUser: more");
        var pieces = new List<string>();
        for (var n = 1; n <= stopIds.Count && !stopped.Stopped; n++) pieces.Add(stopped.Push([.. stopIds.Take(n)]));
        Assert.True(stopped.Stopped);
        Assert.Equal("hi", string.Concat(pieces) + stopped.Finish(stopIds));
        Assert.Equal("hi", stopped.Text);
    }
}
