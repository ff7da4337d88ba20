using Confer.Configuration;
using Confer.Data;
using Confer.Federation.Simulation;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

/// <summary>
/// <c>group_by_length</c>: the simulate key reaches the local trainer's batches, the grouped batches are seeded, they
/// cut padding as the window sort predicts, and leaving the key off keeps today's shuffled order exactly.
/// </summary>
public sealed class LengthGroupingTests
{
    private static SimulationSettings Bind(string yaml) => ConfigBinder.BindText<SimulationSettings>(yaml, "test config");

    /// <summary>Positions a batch list runs the decoder over (each batch padded to its longest example).</summary>
    private static long PaddedPositions(IEnumerable<IReadOnlyList<TokenizedExample>> batches) => batches.Sum(b => (long)b.Count * b.Max(e => e.Length));

    [Fact]
    public void KeyIsOffByDefaultAndReachesTheTrainerOptions()
    {
        Assert.False(Bind("").GroupByLength);
        Assert.False(Bind("").ToTrainerOptions(0).GroupByLength);
        Assert.True(Bind("group_by_length: true").ToTrainerOptions(0).GroupByLength);
    }

    [Fact]
    public void GroupedBatchesAreSeededAndCutPaddingAsTheWindowSortPredicts()
    {
        // 600 examples of lengths 6…60 in a seeded random order: 3 windows of 50 batches of 4.
        var examples = TrainingData.Examples(5, 600, minLength: 6, maxLength: 60);
        var grouped = new Batcher(examples, batchSize: 4, seed: 11, groupByLength: true);
        var plain = new Batcher(examples, batchSize: 4, seed: 11);
        Assert.Equal(grouped.Order(0), new Batcher(examples, 4, seed: 11, groupByLength: true).Order(0));
        Assert.NotEqual(grouped.Order(0), new Batcher(examples, 4, seed: 12, groupByLength: true).Order(0));

        // Independent prediction: sort each window of 200 shuffled lengths longest first, cut into batches of 4, and
        // pad each batch to its first (longest) member.
        var shuffledLengths = plain.Order(0).Select(i => examples[i].Length).ToArray();
        long predicted = shuffledLengths.Chunk(4 * Batcher.LengthGroupWindow)
            .SelectMany(window => window.OrderDescending().Chunk(4))
            .Sum(batch => (long)batch.Length * batch[0]);
        long real = examples.Sum(e => (long)e.Length);
        Assert.Equal(predicted, PaddedPositions(grouped.Batches(0)));
        var groupedPad = 1 - (double)real / PaddedPositions(grouped.Batches(0));
        var plainPad = 1 - (double)real / PaddedPositions(plain.Batches(0));
        // Uniform lengths 6…60 in batches of 4: about 35 % padding shuffled, about 1 % grouped (neighbours in a sorted
        // window of 200 differ by about 0.3 tokens).
        Assert.True(plainPad > 0.25, $"shuffled pad fraction {plainPad:P1}");
        Assert.True(groupedPad < 0.03, $"grouped pad fraction {groupedPad:P1}");
    }

    [Fact]
    public void TheTrainerDrawsTheGroupedBatchesOnlyWhenTheKeyIsOn()
    {
        // With lr 0 the model never changes, so each step's loss identifies the examples the step trained on.
        var examples = TrainingData.Examples(9, 24, minLength: 4, maxLength: 30);
        using var model = TinyModels.Llama();
        double[] StepLosses(string yaml)
        {
            var options = Bind(yaml).ToTrainerOptions(0) with { LearningRate = 0, MaxSteps = 0, Epochs = 1, Seed = 3 };
            return [.. new LocalTrainer(options).Train(model, examples, cancellationToken: TestContext.Current.CancellationToken).StepLosses];
        }
        double[] Expected(bool grouped) =>
        [
            .. new Batcher(examples, 4, seed: 3, groupByLength: grouped).Batches(0).Select(batch =>
            {
                model.zero_grad();
                return LocalTrainer.AccumulateGradients(model, [batch], 0, CPU).MeanLoss;
            }),
        ];

        var off = StepLosses("micro_batch_size: 4\n");
        var on = StepLosses("micro_batch_size: 4\ngroup_by_length: true\n");
        Assert.Equal(Expected(false), off, (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(Expected(true), on, (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.NotEqual(off, on, (a, b) => Math.Abs(a - b) < 1e-6);
    }
}
