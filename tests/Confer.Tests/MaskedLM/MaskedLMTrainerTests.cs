using Confer.Models.Bert;
using Confer.Training;
using Confer.Training.MaskedLM;
using static TorchSharp.torch;

namespace Confer.Tests.MaskedLM;

public class MaskedLMTrainerTests
{
    // Tiny vocabulary of 120: 0 [PAD], 1 [CLS], 2 [SEP], 3 [MASK]; text tokens from 5.
    private static readonly MaskingOptions Masking = new(3, [0, 1, 2, 3], Probability: 0.3);

    /// <summary>Eight blocks [CLS] … [SEP] of 24 tokens cycling through a 10-token pattern, so a model that learns the
    /// pattern predicts masked tokens from their neighbours.</summary>
    private static List<int[]> Blocks() => Enumerable.Range(0, 8)
        .Select(b => new[] { 1 }.Concat(Enumerable.Range(0, 22).Select(j => 5 + (j + b) % 10)).Append(2).ToArray())
        .ToList();

    private static TrainerOptions Options(int steps) => new()
    {
        LearningRate = 3e-3, MaxSteps = steps, MicroBatchSize = 4, GradientAccumulationSteps = 2, Schedule = LearningRateSchedule.Constant,
        WarmupSteps = 0, Seed = 3,
    };

    [Fact]
    public void MaskedLMLossFallsOnARepeatedBatch()
    {
        manual_seed(2);
        using var model = new BertForMaskedLM(TinyBert.Config());
        var blocks = Blocks();
        var before = MaskedLMEvaluator.EvaluateLoss(model, blocks, Masking, batchSize: 8, seed: 9);
        var progress = new List<TrainProgress>();
        var result = new MaskedLMTrainer(Options(40), Masking).Train(model, blocks, progress.Add, TestContext.Current.CancellationToken);
        var after = MaskedLMEvaluator.EvaluateLoss(model, blocks, Masking, batchSize: 8, seed: 9);

        Assert.Equal(40, result.Steps);
        Assert.Equal(40, progress.Count);
        Assert.Equal(40 * 8 * 24L, result.Tokens);
        Assert.InRange(result.TargetTokens, 40 * 8 * 22 * 0.2, 40 * 8 * 22 * 0.4); // 30% of the 22 text tokens per block
        Assert.InRange(before.MeanLoss, 4.0, 5.5); // ≈ ln 120 at HF's N(0, 0.02) initialisation
        Assert.True(after.MeanLoss < before.MeanLoss - 2.0, $"masked-LM loss should fall clearly: {before.MeanLoss:F3} → {after.MeanLoss:F3}");
        Assert.True(progress.All(p => double.IsFinite(p.GradNorm)));
    }

    [Fact]
    public void SameSeedTrainsIdentically()
    {
        double[] Run()
        {
            manual_seed(4);
            using var model = new BertForMaskedLM(TinyBert.Config());
            return [.. new MaskedLMTrainer(Options(3), Masking).Train(model, Blocks(), cancellationToken: TestContext.Current.CancellationToken).StepLosses];
        }
        Assert.Equal(Run(), Run());
    }
}
