using Confer.Training.Generation;
using TorchSharp;

namespace Confer.Tests.Generation;

public class TokenGeneratorTests
{
    private static readonly int[][] Prompts = [[1, 5, 9, 22], [1, 40], [1, 3, 3, 7, 8, 60, 2]];

    [Fact]
    public void CachedDecodingEqualsUncachedTokenForToken()
    {
        using var model = TinyModels.Llama();
        var generator = new TokenGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 20 };
        var cached = generator.Generate(Prompts, options);
        var uncached = generator.Generate(Prompts, options with { UseCache = false });
        Assert.Equal(20, cached[0].Length);
        for (var i = 0; i < Prompts.Length; i++) Assert.Equal(uncached[i], cached[i]);
    }

    [Fact]
    public void BatchedDecodingEqualsOneAtATime()
    {
        using var model = TinyModels.Llama();
        var generator = new TokenGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 12 };
        var batched = generator.Generate(Prompts, options);
        for (var i = 0; i < Prompts.Length; i++) Assert.Equal(generator.Generate([Prompts[i]], options)[0], batched[i]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TwoHundredDecodingStepsLeaveNoTensorAlive(bool useCache)
    {
        using var model = TinyModels.Llama();
        var generator = new TokenGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 20, UseCache = useCache };
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var call = 0; call < 10; call++) Assert.Equal(20, generator.Generate(Prompts, options)[0].Length);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void SamplingIsSeededAndStopsAtEosAndStopCondition()
    {
        using var model = TinyModels.Llama();
        var generator = new TokenGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 15, Temperature = 1.0, TopK = 20, TopP = 0.9, Seed = 42 };
        var a = generator.Generate(Prompts, options);
        var b = generator.Generate(Prompts, options);
        var c = generator.Generate(Prompts, options with { Seed = 43 });
        for (var i = 0; i < Prompts.Length; i++) Assert.Equal(a[i], b[i]);
        Assert.False(a.Zip(c).All(p => p.First.SequenceEqual(p.Second)));

        var greedy = generator.Generate([Prompts[0]], new GenerationOptions { MaxNewTokens = 10 })[0];
        var eos = greedy[3];
        var cut = generator.Generate([Prompts[0]], new GenerationOptions { MaxNewTokens = 10 }, eosId: eos)[0];
        Assert.Equal(greedy.TakeWhile(t => t != eos), cut);
        // Any of several end ids stops a row (Llama 3 chat models end at end-of-text or end-of-turn).
        var either = generator.Generate([Prompts[0]], new GenerationOptions { MaxNewTokens = 10, EosTokenIds = [-1, greedy[1]] })[0];
        Assert.Equal(greedy.TakeWhile(t => t != greedy[1]), either);
        var stopped = generator.Generate([Prompts[0]], new GenerationOptions { MaxNewTokens = 10 }, shouldStop: (_, toks) => toks.Count == 4)[0];
        Assert.Equal(greedy.Take(4), stopped);
    }
}

public class RepetitionPenaltyTests
{
    [Fact]
    public void SeenTokensArePenalisedAsTransformersDoes()
    {
        // Row 0 has seen ids 0 and 1: 2 → 2/2, −1 → −1·2; id 2 unseen keeps 0.5. Row 1 has seen id 2 twice.
        var logits = Confer.Training.Generation.RepetitionPenalty.Apply(
            TorchSharp.torch.tensor(new float[] { 2, -1, 0.5f, 3, 3, -4 }, [2, 3]), TorchSharp.torch.tensor(new long[] { 0, 1, 2, 2 }, [2, 2]), 2.0);
        Assert.Equal([1f, -2f, 0.5f, 3f, 3f, -8f], logits.data<float>().ToArray());
    }

    [Fact]
    public void AHugePenaltyKeepsGreedyDecodingFromRepeatingAnyToken()
    {
        using var model = TinyModels.Llama();
        int[] prompt = [5, 6, 7];
        var plain = new TokenGenerator(model).Generate([prompt], new GenerationOptions { MaxNewTokens = 30 })[0];
        Assert.True(prompt.Concat(plain).Distinct().Count() < prompt.Length + plain.Length, "without a penalty this tiny model repeats itself");
        var penalised = new TokenGenerator(model).Generate([prompt], new GenerationOptions { MaxNewTokens = 30, RepetitionPenalty = 1e6 })[0];
        Assert.Equal(prompt.Length + penalised.Length, prompt.Concat(penalised).Distinct().Count());
    }
}
