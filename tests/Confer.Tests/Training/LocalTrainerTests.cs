using Confer.Data;
using Confer.Peft;
using Confer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

public class LocalTrainerTests
{
    private static Dictionary<string, Tensor> Gradients(nn.Module model) =>
        model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone());

    private static double MaxDifference(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b) =>
        a.Keys.Max(k => (a[k] - b[k]).abs().max().item<float>());

    [Fact]
    public void GradientAccumulationEqualsOneLargeBatch()
    {
        using var model = TinyModels.Llama();
        var examples = TrainingData.Examples(3, 8);
        Assert.NotEqual(examples.Take(4).Sum(e => e.TargetCount), examples.Skip(4).Sum(e => e.TargetCount));

        model.zero_grad();
        var whole = LocalTrainer.AccumulateGradients(model, [examples], 0, CPU);
        var oneBatch = Gradients(model);
        model.zero_grad();
        var split = LocalTrainer.AccumulateGradients(model, [examples[..4], examples[4..]], 0, CPU);
        var accumulated = Gradients(model);
        Assert.Equal(whole.TargetTokens, split.TargetTokens);
        Assert.Equal(whole.MeanLoss, split.MeanLoss, 5);
        Assert.True(MaxDifference(oneBatch, accumulated) < 1e-5, $"max difference {MaxDifference(oneBatch, accumulated)}");

        // Averaging the two micro-batch means instead (the usual mistake) gives a different gradient.
        model.zero_grad();
        LocalTrainer.AccumulateGradients(model, [examples[..4]], 0, CPU);
        var first = Gradients(model);
        model.zero_grad();
        LocalTrainer.AccumulateGradients(model, [examples[4..]], 0, CPU);
        var naive = Gradients(model).ToDictionary(kv => kv.Key, kv => (kv.Value + first[kv.Key]) / 2);
        Assert.True(MaxDifference(oneBatch, naive) > 1e-4);
    }

    [Fact]
    public void ClippingBoundsTheGlobalGradientNorm()
    {
        using var model = TinyModels.Llama();
        var reported = new List<double>();
        var trainer = new LocalTrainer(new TrainerOptions { LearningRate = 0, MaxSteps = 1, MicroBatchSize = 4, MaxGradNorm = 1e-3 });
        trainer.Train(model, TrainingData.Examples(4, 4), p => reported.Add(p.GradNorm), cancellationToken: TestContext.Current.CancellationToken);
        var clipped = Math.Sqrt(model.parameters().Sum(p => p.grad!.square().sum().item<float>()));
        Assert.True(reported[0] > 1e-2, $"pre-clip norm {reported[0]}");
        Assert.True(clipped <= 1e-3 * (1 + 1e-4), $"post-clip norm {clipped}");
        Assert.True(clipped > 0.99e-3);
    }

    [Fact]
    public void SameSeedGivesBitwiseIdenticalLosses()
    {
        static IReadOnlyList<double> Run(long seed)
        {
            using var model = TinyModels.Llama();
            LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0.1 }, new Generator(5));
            var options = new TrainerOptions { LearningRate = 1e-2, MaxSteps = 5, MicroBatchSize = 3, GradientAccumulationSteps = 2, Seed = seed };
            return new LocalTrainer(options).Train(model, TrainingData.Examples(5, 16), cancellationToken: TestContext.Current.CancellationToken).StepLosses;
        }
        var first = Run(42);
        Assert.Equal(first, Run(42)); // exact double equality
        Assert.NotEqual(first, Run(43)); // the seed drives data order and dropout
    }

    [Fact]
    public void TinyModelOverfitsOneBatch()
    {
        using var model = TinyModels.Llama();
        var batch = TrainingData.Examples(6, 4, minLength: 12, maxLength: 12, maskPrompt: false);
        var options = new TrainerOptions { LearningRate = 1e-2, MaxSteps = 60, MicroBatchSize = 4, Schedule = LearningRateSchedule.Constant };
        var result = new LocalTrainer(options).Train(model, batch, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(60, result.Steps);
        Assert.True(result.StepLosses[^1] < 0.1 * result.StepLosses[0], $"loss {result.StepLosses[0]} → {result.StepLosses[^1]}");
    }

    [Fact]
    public void EpochsAccumulationAndCountsAddUp()
    {
        using var model = TinyModels.Llama();
        var examples = TrainingData.Examples(7, 10);
        var trainer = new LocalTrainer(new TrainerOptions { Epochs = 3, MicroBatchSize = 4, GradientAccumulationSteps = 2 });
        Assert.Equal(6, trainer.TotalSteps(10)); // 3 micro-batches per epoch → 2 steps (the second one short)
        var result = trainer.Train(model, examples, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(6, result.Steps);
        Assert.Equal(30, result.Examples);
        Assert.Equal(3 * examples.Sum(e => (long)e.TargetCount), result.TargetTokens);
        Assert.Equal(3 * examples.Sum(e => (long)e.Length), result.Tokens);
        Assert.False(model.training); // TinyModels.Llama returns an eval-mode model; the trainer restores it
    }

    [Fact]
    public void FrozenNamesStayFixedAndAreUnfrozenAfterwards()
    {
        using var model = TinyModels.Llama();
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0 }, new Generator(5));
        var (_, layer) = LoraModel.Layers(model).First();
        var a = layer.LoraA.detach().clone();
        var b = layer.LoraB.detach().clone();
        var options = new TrainerOptions { LearningRate = 1e-2, MaxSteps = 3, MicroBatchSize = 4, FrozenParameterNames = ["lora_A"] };
        new LocalTrainer(options).Train(model, TrainingData.Examples(8, 8), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(layer.LoraA.eq(a).all().item<bool>());
        Assert.False(layer.LoraB.eq(b).all().item<bool>());
        Assert.True(layer.LoraA.requires_grad);
    }

    [Fact]
    public void CancellationStopsBetweenStepsAndRestoresState()
    {
        using var model = TinyModels.Llama();
        LoraModel.Attach(model, new LoraConfig { Rank = 2, Alpha = 4, Dropout = 0 }, new Generator(5));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var options = new TrainerOptions { MaxSteps = 10, MicroBatchSize = 2, FrozenParameterNames = ["lora_A"] };
        var steps = 0;
        Assert.Throws<OperationCanceledException>(() => new LocalTrainer(options).Train(model, TrainingData.Examples(9, 8),
            _ => { if (++steps == 2) cts.Cancel(); }, cts.Token));
        Assert.Equal(2, steps);
        Assert.All(LoraModel.Layers(model), l => Assert.True(l.Layer.LoraA.requires_grad));
    }

    [Fact]
    public void ModelWithoutTrainableTensorsOrDataIsRejected()
    {
        using var model = TinyModels.Llama();
        foreach (var p in model.parameters()) p.requires_grad = false;
        var trainer = new LocalTrainer(new TrainerOptions());
        Assert.Contains("no trainable parameters", Assert.Throws<InvalidOperationException>(() => trainer.Train(model, TrainingData.Examples(1, 2), cancellationToken: TestContext.Current.CancellationToken)).Message);
        Assert.Throws<ArgumentException>(() => trainer.Train(model, Array.Empty<TokenizedExample>(), cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public void LiveTensorCountDoesNotGrowWithSteps()
    {
        static long LeftAlive(int steps)
        {
            using var model = TinyModels.Llama();
            LoraModel.Attach(model, new LoraConfig { Rank = 2, Alpha = 4, Dropout = 0.1 }, new Generator(5));
            var options = new TrainerOptions { MaxSteps = steps, MicroBatchSize = 2, GradientAccumulationSteps = 2, ProximalMu = 0.1 };
            var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            new LocalTrainer(options).Train(model, TrainingData.Examples(13, 8), cancellationToken: TestContext.Current.CancellationToken);
            return DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        }
        Assert.Equal(0, LeftAlive(2));
        Assert.Equal(0, LeftAlive(6));
    }
}
