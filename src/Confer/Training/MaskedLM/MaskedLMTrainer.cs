using System.Diagnostics;
using Confer.Data;
using Confer.Models.Bert;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Training.MaskedLM;

/// <summary>
/// Pre-trains a <see cref="BertForMaskedLM"/> on fixed-length blocks: each micro-batch is freshly corrupted by
/// <see cref="TokenMasker"/> (so every epoch sees new masks) and the loss is the unshifted cross-entropy on the chosen
/// positions. Optimiser, schedule, warm-up, clipping and accumulation follow the same <see cref="TrainerOptions"/> as the
/// causal <see cref="LocalTrainer"/>; FedProx and frozen names do not apply to pre-training and must be left unset.
/// </summary>
public sealed class MaskedLMTrainer
{
    public MaskedLMTrainer(TrainerOptions options, MaskingOptions masking)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(masking);
        options.Validate();
        if (options.ProximalMu != 0 || options.FrozenParameterNames.Count != 0)
            throw new ArgumentException("MaskedLMTrainer does not support TrainerOptions.ProximalMu or FrozenParameterNames: leave them unset.", nameof(options));
        Options = options;
        Masking = masking;
    }

    public TrainerOptions Options { get; }

    public MaskingOptions Masking { get; }

    /// <summary>Optimiser steps a run over <paramref name="blockCount"/> blocks takes.</summary>
    public int TotalSteps(int blockCount)
    {
        if (Options.MaxSteps > 0) return Options.MaxSteps;
        var microBatches = (blockCount + Options.MicroBatchSize - 1) / Options.MicroBatchSize;
        return Options.Epochs * ((microBatches + Options.GradientAccumulationSteps - 1) / Options.GradientAccumulationSteps);
    }

    /// <summary>
    /// Trains <paramref name="model"/> in place. Torch and the masker are seeded with <see cref="TrainerOptions.Seed"/>,
    /// so the same model, blocks and options give the same losses. The model's train/eval mode is restored on return.
    /// </summary>
    /// <param name="model">Model to train; only parameters with <c>requires_grad</c> are optimised.</param>
    /// <param name="blocks">Equal-length token blocks (<see cref="MaskedLMBlockEncoder"/>); shuffled per epoch with the seed.</param>
    /// <param name="progress">Called every <see cref="TrainerOptions.LogEvery"/> steps and after the last step.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    public TrainResult Train(BertForMaskedLM model, IReadOnlyList<int[]> blocks, Action<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Count == 0) throw new ArgumentException("No masked-LM blocks: the corpus is shorter than one block (use more text or a smaller --block-size).", nameof(blocks));

        torch.manual_seed(Options.Seed);
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        if (parameters.Count == 0) throw new InvalidOperationException("The model has no trainable parameters.");
        var wasTraining = model.training;
        try
        {
            using var optimizer = CreateOptimizer(parameters);
            using var masker = new TokenMasker(Masking, model.Config.VocabSize, Options.Seed);
            model.train();
            return Loop(model, parameters, optimizer, masker, blocks, progress, cancellationToken);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private TrainResult Loop(BertForMaskedLM model, IReadOnlyList<Parameter> parameters, optim.Optimizer optimizer, TokenMasker masker,
        IReadOnlyList<int[]> blocks, Action<TrainProgress>? progress, CancellationToken cancellationToken)
    {
        var device = parameters[0].device;
        var totalSteps = TotalSteps(blocks.Count);
        var warmup = ScheduleMultiplier.WarmupSteps(Options, totalSteps);
        var losses = new List<double>(totalSteps);
        double lossSum = 0;
        long tokens = 0, targets = 0, seen = 0, tokensSinceReport = 0;
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;

        foreach (var (epoch, microBatches) in PlanSteps(blocks.Count, totalSteps))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var lr = Options.LearningRate * ScheduleMultiplier.At(Options.Schedule, losses.Count, warmup, totalSteps);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;

            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            // Mask every micro-batch first: the step's loss is divided by the masked-token count of the whole step.
            var batches = microBatches.Select(indices => masker.Mask(MaskedLMBatch.Stack(indices.Select(i => blocks[i]).ToList()))).ToList();
            long stepTargets = batches.Sum(b => b.Labels.ne(TokenMasker.IgnoreIndex).sum().item<long>());
            long stepTokens = batches.Sum(b => b.InputIds.numel());
            double stepLoss = 0;
            var gradNorm = double.NaN;
            if (stepTargets > 0)
            {
                foreach (var (inputIds, labels) in batches)
                {
                    var summed = MaskedLMBatch.SummedLoss(model, inputIds.to(device), labels.to(device));
                    summed.div(stepTargets).backward();
                    stepLoss += summed.item<float>();
                }
                gradNorm = Options.MaxGradNorm is { } maxNorm ? nn.utils.clip_grad_norm_(parameters, maxNorm) : GradientNorm(parameters);
                optimizer.step();
            }

            losses.Add(stepTargets == 0 ? double.NaN : stepLoss / stepTargets);
            lossSum += stepLoss;
            tokens += stepTokens;
            targets += stepTargets;
            seen += microBatches.Sum(m => m.Length);
            tokensSinceReport += stepTokens;
            if (progress is not null && (losses.Count % Options.LogEvery == 0 || losses.Count == totalSteps))
            {
                var now = clock.Elapsed;
                var seconds = Math.Max((now - lastReport).TotalSeconds, 1e-9);
                progress(new TrainProgress(losses.Count, totalSteps, epoch, losses[^1], lr, tokensSinceReport / seconds, gradNorm));
                lastReport = now;
                tokensSinceReport = 0;
            }
        }
        return new TrainResult(losses.Count, targets == 0 ? double.NaN : lossSum / targets, tokens, targets, seen, clock.Elapsed.TotalSeconds, losses);
    }

    /// <summary>Each epoch shuffles the block indices (SplitMix64 for the seed and epoch), cuts micro-batches and groups
    /// them into steps; an epoch's last step may be short. Continues into further epochs until enough steps are planned.</summary>
    private IEnumerable<(int Epoch, IReadOnlyList<int[]> MicroBatches)> PlanSteps(int blockCount, int totalSteps)
    {
        var planned = 0;
        for (var epoch = 0; ; epoch++)
        {
            var order = Enumerable.Range(0, blockCount).ToArray();
            SplitMix64.ForEpoch(Options.Seed, epoch).Shuffle(order);
            var microBatches = order.Chunk(Options.MicroBatchSize).ToList();
            foreach (var step in microBatches.Chunk(Options.GradientAccumulationSteps))
            {
                yield return (epoch, step);
                if (++planned == totalSteps) yield break;
            }
        }
    }

    private static double GradientNorm(IReadOnlyList<Parameter> parameters)
    {
        using var _ = no_grad();
        var squares = parameters.Where(p => p.grad is not null).Select(p => p.grad!.square().sum()).ToList();
        return squares.Count == 0 ? 0 : Math.Sqrt(torch.stack(squares).sum().item<float>());
    }

    private optim.Optimizer CreateOptimizer(IReadOnlyList<Parameter> parameters) => Options.CreateAdamW(parameters);
}
