using Confer.Data;

namespace Confer.Cli.Commands.Bench;

/// <summary>Seeded random inputs for benchmarks, where throughput does not depend on what the tokens say.</summary>
internal static class SyntheticData
{
    /// <summary><paramref name="count"/> sequences of uniform random ids, every position a training target (no padding).</summary>
    public static IReadOnlyList<TokenizedExample> TrainingExamples(int count, int length, int vocab, int seed)
    {
        var random = new Random(seed);
        var examples = new List<TokenizedExample>(count);
        for (var i = 0; i < count; i++)
        {
            var ids = new int[length];
            for (var t = 0; t < length; t++) ids[t] = random.Next(vocab);
            examples.Add(new TokenizedExample(ids, (int[])ids.Clone()));
        }
        return examples;
    }

    /// <summary><paramref name="count"/> prompts of <paramref name="length"/> random ids.</summary>
    public static IReadOnlyList<IReadOnlyList<int>> Prompts(int count, int length, int vocab, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, length).Select(_ => random.Next(vocab)).ToArray()).ToList();
    }
}
