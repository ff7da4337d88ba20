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
    public int TotalSteps(int blockCount) => Options.TotalSteps(blockCount);

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
            using var lowPrecision = Options.LowPrecisionFor(model);
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
        return new OptimizerStepLoop(Options, parameters, optimizer).Run(ShuffledStepPlan.Steps(blocks.Count, totalSteps, Options), totalSteps,
            microBatches => AccumulateGradients(model, masker, blocks, microBatches, device), progress, cancellationToken);
    }

    /// <summary>
    /// Masks every micro-batch of the step first, because each micro-batch's summed loss is divided by the masked-token
    /// count of the whole step; then forward/backward per micro-batch.
    /// </summary>
    private static StepStats AccumulateGradients(BertForMaskedLM model, TokenMasker masker, IReadOnlyList<int[]> blocks,
        IReadOnlyList<int[]> microBatches, Device device)
    {
        var batches = microBatches.Select(indices => masker.Mask(MaskedLMBatch.Stack(indices.Select(i => blocks[i]).ToList()))).ToList();
        long targets = batches.Sum(b => b.Labels.ne(TokenMasker.IgnoreIndex).sum().item<long>());
        long tokens = batches.Sum(b => b.InputIds.numel());
        var examples = microBatches.Sum(m => m.Length);
        if (targets == 0) return new StepStats(0, tokens, 0, examples);
        double lossSum = 0;
        foreach (var (inputIds, labels) in batches)
        {
            var summed = MaskedLMBatch.SummedLoss(model, inputIds.to(device), labels.to(device));
            summed.div(targets).backward();
            lossSum += summed.item<float>();
        }
        return new StepStats(lossSum, tokens, targets, examples);
    }

    private optim.Optimizer CreateOptimizer(IReadOnlyList<Parameter> parameters) => Options.CreateAdamW(parameters);
}
