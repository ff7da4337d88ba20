using Confer.Data;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

public class EvaluatorTests
{
    [Fact]
    public void UniformLogitsGiveLnVocabAndPerplexityVocab()
    {
        using var model = TinyModels.Llama();
        using (no_grad()) model.named_parameters().Single(p => p.name == "lm_head.weight").parameter.zero_();
        var examples = TrainingData.Examples(11, 5);
        var report = Evaluator.EvaluateLoss(model, examples, batchSize: 2);
        Assert.Equal(Math.Log(97), report.MeanLoss, 5);
        Assert.Equal(97, report.Perplexity, 3);
        Assert.Equal(examples.Sum(e => (long)e.TargetCount), report.TargetTokens);
        Assert.Equal(5, report.Examples);
    }

    [Fact]
    public void LossDoesNotDependOnBatchSizeAndRestoresTheMode()
    {
        using var model = TinyModels.Llama();
        model.train();
        var examples = TrainingData.Examples(12, 7);
        var single = Evaluator.EvaluateLoss(model, examples, batchSize: 1);
        var batched = Evaluator.EvaluateLoss(model, examples, batchSize: 3);
        Assert.Equal(single.MeanLoss, batched.MeanLoss, 5);
        Assert.True(model.training);

        // The training step's loss on the same data is the same quantity.
        var step = LocalTrainer.AccumulateGradients(model, [examples], 0, CPU);
        Assert.Equal(single.MeanLoss, step.MeanLoss, 4);
    }

    [Fact]
    public void QaAccuracyCountsExtractedMatches()
    {
        QaRecord[] records =
        [
            new("q1", ["a", "b", "c", "d"], "A"),
            new("q2", ["a", "b", "c", "d"], "C"),
            new("q3", null, "42"),
            new("q4", null, "yes"),
        ];
        string[] outputs = ["The answer is (A).", "B", "so 40 + 2 = 42", "I cannot tell."];
        var calls = 0;
        var report = Evaluator.EvaluateQa(records, batch =>
        {
            calls++;
            return batch.Select(r => outputs[Array.IndexOf(records, r)]).ToList();
        }, batchSize: 3);
        Assert.Equal(2, calls);
        Assert.Equal(4, report.Total);
        Assert.Equal(2, report.Correct);
        Assert.Equal(1, report.Unparsed);
        Assert.Equal(0.5, report.Accuracy);
        Assert.Equal([true, false, true, false], report.Predictions.Select(p => p.Correct));
        Assert.Equal("B", report.Predictions[1].Extracted);

        Assert.Throws<InvalidOperationException>(() => Evaluator.EvaluateQa(records, _ => ["only one"], batchSize: 2));
    }
}
