using System.Diagnostics;
using Confer.Models.Llama;
using Confer.Peft;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Cli.Commands.Bench;

/// <summary>Timings of a LoRA training benchmark; the first (warm-up) step is kept apart.</summary>
internal sealed record TrainingBenchResult(long TokensPerStep, double WarmupSeconds, IReadOnlyList<double> StepSeconds, IReadOnlyList<double> Losses)
{
    /// <summary>Tokens per second over the timed steps (warm-up excluded).</summary>
    public double TokensPerSecond => TokensPerStep * StepSeconds.Count / StepSeconds.Sum();
}

/// <summary>
/// Trains a randomly initialised model of a <see cref="BenchModel"/> shape with LoRA r = 8 on every linear layer, through
/// the real <see cref="LocalTrainer"/> (AdamW, clipping, shifted cross-entropy), on synthetic unpadded batches, and
/// times every optimiser step.
/// </summary>
internal static class TrainingBench
{
    public const int LoraRank = 8;

    public static TrainingBenchResult Run(BenchModel bench, int timedSteps, int seed = 42)
    {
        manual_seed(seed);
        using var model = new LlamaForCausalLM(bench.Config);
        LoraModel.Attach(model, new LoraConfig { Rank = LoraRank, Alpha = 16, Dropout = 0, TargetModules = [.. LoraConfig.LlamaAllLinear] });
        var steps = timedSteps + 1;
        var examples = SyntheticData.TrainingExamples(steps * bench.Batch, bench.Sequence, bench.Config.VocabSize, seed);
        var trainer = new LocalTrainer(new TrainerOptions { MaxSteps = steps, MicroBatchSize = bench.Batch, LearningRate = 1e-3, Seed = seed });
        var ends = new List<double>(steps);
        var losses = new List<double>(steps);
        var clock = Stopwatch.StartNew();
        trainer.Train(model, examples, p =>
        {
            ends.Add(clock.Elapsed.TotalSeconds);
            losses.Add(p.Loss);
        });
        var stepSeconds = ends.Zip(ends.Skip(1), (a, b) => b - a).ToList();
        return new TrainingBenchResult(bench.BatchTokens, ends[0], stepSeconds, losses);
    }
}
