using Confer.Data;

namespace Confer.Tests.Training;

/// <summary>Seeded synthetic token data for the tiny model (vocab 97): varied lengths and prompt masks, so batches
/// differ in padding and target counts.</summary>
internal static class TrainingData
{
    public static List<TokenizedExample> Examples(int seed, int count, int minLength = 6, int maxLength = 14, int vocab = 97, bool maskPrompt = true)
    {
        var random = new Random(seed);
        var examples = new List<TokenizedExample>(count);
        for (var i = 0; i < count; i++)
        {
            var length = random.Next(minLength, maxLength + 1);
            var ids = Enumerable.Range(0, length).Select(_ => random.Next(1, vocab)).ToArray();
            var prompt = maskPrompt ? random.Next(1, length - 1) : 0;
            examples.Add(new TokenizedExample(ids, ids.Select((id, t) => t < prompt ? TokenizedExample.IgnoreLabel : id).ToArray()));
        }
        return examples;
    }
}
