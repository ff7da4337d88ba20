using System.Diagnostics;
using Confer.Data;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Peft;
using Confer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Cli.Commands.Bench;

/// <summary>What one optimiser step trained on: the padded batch and the tokens in it that count.</summary>
/// <param name="PaddedTokens">rows × longest row (a row is an example, or several when packed): the positions the decoder runs over.</param>
/// <param name="RealTokens">Non-pad tokens.</param>
/// <param name="Targets">Tokens that carry a (shifted) label: the positions the loss and the output layer need.</param>
/// <param name="SquaredLengths">Σ length² over the step's examples (attention work grows with it).</param>
internal sealed record TrainingBenchStep(long PaddedTokens, long RealTokens, long Targets, double SquaredLengths)
{
    public static TrainingBenchStep Of(IReadOnlyList<TokenizedExample> batch, bool packed)
    {
        var rows = packed ? BatchCollator.Pack(batch) : batch.Select(e => new List<TokenizedExample> { e }).ToList();
        return new((long)rows.Count * rows.Max(r => r.Sum(e => e.Length)), batch.Sum(e => (long)e.Length), batch.Sum(e => (long)e.TargetCount),
            batch.Sum(e => (double)e.Length * e.Length));
    }
}

/// <summary>Timings of a LoRA training benchmark; the first (warm-up) step is kept apart.</summary>
internal sealed record TrainingBenchResult(IReadOnlyList<TrainingBenchStep> Steps, double WarmupSeconds, IReadOnlyList<double> StepSeconds, IReadOnlyList<double> Losses)
{
    /// <summary>The timed steps (warm-up excluded).</summary>
    public IEnumerable<TrainingBenchStep> Timed => Steps.Skip(1);

    /// <summary>Real (non-pad) tokens per second over the timed steps: what a user's data moves through.</summary>
    public double TokensPerSecond => Timed.Sum(s => s.RealTokens) / StepSeconds.Sum();

    public double PadFraction => 1 - (double)Timed.Sum(s => s.RealTokens) / Timed.Sum(s => s.PaddedTokens);

    public double LabelledFraction => (double)Timed.Sum(s => s.Targets) / Timed.Sum(s => s.RealTokens);
}

/// <summary>
/// Trains a randomly initialised model of a <see cref="BenchModel"/> shape with LoRA r = 8 on every linear layer, through
/// the real <see cref="LocalTrainer"/> (AdamW, clipping, shifted cross-entropy), on the given examples (synthetic
/// unpadded batches, or real instruction data), and times every optimiser step.
/// </summary>
internal static class TrainingBench
{
    public const int LoraRank = 8;

    /// <param name="bench">Model shape and micro-batch size.</param>
    /// <param name="examples">Exactly one epoch: (timed steps + 1) × batch examples.</param>
    /// <param name="fullLogits">Train through the plain path (logits at every position, one cross-entropy) instead of
    /// the label-only chunked output layer, to compare the two in the same conditions.</param>
    /// <param name="padTokenId">Id of padded positions.</param>
    /// <param name="groupByLength">Length-grouped batches (<see cref="TrainerOptions.GroupByLength"/>).</param>
    /// <param name="packing">Pack each micro-batch into as few rows as hold it (<see cref="TrainerOptions.Packing"/>).</param>
    /// <param name="checkpointActivations">Recompute each decoder layer in backward (<see cref="TrainerOptions.ActivationCheckpointing"/>).</param>
    /// <param name="bf16">Frozen-weight products in bfloat16 (<see cref="TrainerOptions.Bf16"/>).</param>
    /// <param name="seed">Model initialisation and batch order.</param>
    public static TrainingBenchResult Run(BenchModel bench, IReadOnlyList<TokenizedExample> examples, bool fullLogits, long padTokenId,
        bool groupByLength = false, bool packing = false, bool checkpointActivations = false, bool bf16 = false, int seed = 42)
    {
        manual_seed(seed);
        using var model = new LlamaForCausalLM(bench.Config);
        LoraModel.Attach(model, new LoraConfig { Rank = LoraRank, Alpha = 16, Dropout = 0, TargetModules = [.. LoraConfig.LlamaAllLinear] });
        using var plain = fullLogits ? new FullLogitsModel(model) : null;
        var steps = examples.Count / bench.Batch;
        var options = new TrainerOptions
        {
            MaxSteps = steps, MicroBatchSize = bench.Batch, LearningRate = 1e-3, Seed = seed, PadTokenId = padTokenId,
            GroupByLength = groupByLength, Packing = packing, Bf16 = bf16,
        };
        // Set on the model rather than through TrainerOptions.ActivationCheckpointing (which does the same), so that it
        // also applies behind the --full-logits wrapper.
        model.GradientCheckpointing = checkpointActivations;
        // The same batches the trainer will draw (same seed, epoch 0), to know what each timed step held.
        var batches = new Batcher(examples, bench.Batch, seed, shuffle: true, groupByLength: options.GroupByLength).Batches(0)
            .Select(b => TrainingBenchStep.Of(b, packing)).ToList();
        var ends = new List<double>(steps);
        var losses = new List<double>(steps);
        var clock = Stopwatch.StartNew();
        new LocalTrainer(options).Train(plain is null ? model : plain, examples, p =>
        {
            ends.Add(clock.Elapsed.TotalSeconds);
            losses.Add(p.Loss);
        });
        var stepSeconds = ends.Zip(ends.Skip(1), (a, b) => b - a).ToList();
        return new TrainingBenchResult(batches, ends[0], stepSeconds, losses);
    }

    /// <summary>Hides the model's <see cref="CausalLanguageModel"/> type so that the trainer takes its plain path:
    /// logits at every position and one cross-entropy over them (the path before the label-only output layer).</summary>
    private sealed class FullLogitsModel : nn.Module<CausalLMInput, CausalLMOutput>
    {
        private readonly LlamaForCausalLM inner;

        public FullLogitsModel(LlamaForCausalLM model) : base(nameof(FullLogitsModel))
        {
            inner = model;
            RegisterComponents();
        }

        public override CausalLMOutput forward(CausalLMInput input) => inner.forward(input);
    }
}
