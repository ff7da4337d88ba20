using Confer.Training;

namespace Confer.Tests.Training;

public class ScheduleTests
{
    [Theory]
    [InlineData(LearningRateSchedule.Linear, 0, 0.0)]
    [InlineData(LearningRateSchedule.Linear, 5, 0.5)]
    [InlineData(LearningRateSchedule.Linear, 10, 1.0)]
    [InlineData(LearningRateSchedule.Linear, 60, 0.5)]
    [InlineData(LearningRateSchedule.Linear, 110, 0.0)]
    [InlineData(LearningRateSchedule.Cosine, 5, 0.5)]
    [InlineData(LearningRateSchedule.Cosine, 10, 1.0)]
    [InlineData(LearningRateSchedule.Cosine, 35, 0.8535533905932737)]
    [InlineData(LearningRateSchedule.Cosine, 60, 0.5)]
    [InlineData(LearningRateSchedule.Cosine, 110, 0.0)]
    [InlineData(LearningRateSchedule.Constant, 5, 0.5)]
    [InlineData(LearningRateSchedule.Constant, 110, 1.0)]
    public void WarmupThenDecayHitsTheEndpoints(LearningRateSchedule schedule, int step, double expected) =>
        Assert.Equal(expected, ScheduleMultiplier.At(schedule, step, warmupSteps: 10, totalSteps: 110), 12);

    [Fact]
    public void WithoutWarmupTheFirstStepRunsAtTheFullRate()
    {
        Assert.Equal(1.0, ScheduleMultiplier.At(LearningRateSchedule.Linear, 0, 0, 4));
        Assert.Equal(0.25, ScheduleMultiplier.At(LearningRateSchedule.Linear, 3, 0, 4));
    }

    [Fact]
    public void WarmupRatioRoundsUpAndExplicitStepsWin()
    {
        Assert.Equal(3, ScheduleMultiplier.WarmupSteps(new TrainerOptions { WarmupRatio = 0.1 }, 25));
        Assert.Equal(7, ScheduleMultiplier.WarmupSteps(new TrainerOptions { WarmupRatio = 0.1, WarmupSteps = 7 }, 25));
    }

    [Fact]
    public void TrainerAppliesTheScheduleEachStep()
    {
        using var model = TinyModels.Llama();
        var trainer = new LocalTrainer(new TrainerOptions
        {
            LearningRate = 1e-3, MicroBatchSize = 2, MaxSteps = 6, WarmupSteps = 2, Schedule = LearningRateSchedule.Linear,
        });
        var rates = new List<double>();
        trainer.Train(model, TrainingData.Examples(1, 4), p => rates.Add(p.LearningRate), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(new[] { 0, 0.5e-3, 1e-3, 0.75e-3, 0.5e-3, 0.25e-3 }, rates, (a, b) => Math.Abs(a - b) < 1e-15);
    }

    [Fact]
    public void InvalidOptionsAreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => new LocalTrainer(new TrainerOptions { MicroBatchSize = 0 }));
        Assert.Contains("MicroBatchSize", e.Message);
        Assert.Throws<ArgumentException>(() => new LocalTrainer(new TrainerOptions { Beta2 = 1.0 }));
        Assert.Throws<ArgumentException>(() => new LocalTrainer(new TrainerOptions { MaxGradNorm = 0 }));
    }
}
