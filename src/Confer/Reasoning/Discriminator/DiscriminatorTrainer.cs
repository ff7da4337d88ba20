using Confer.Data;
using Confer.Models.Bert;
using Confer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Reasoning.Discriminator;

/// <summary>
/// Trains FedCoT's discriminator — an encoder with a one-logit head — on labelled candidates with binary
/// cross-entropy on the logit, L = −[y·log σ(z) + (1−y)·log(1−σ(z))], the positive term weighted by
/// <c>posWeight</c> (algorithms.md §3; 1 = plain BCE). Only parameters with <c>requires_grad</c> (LoRA and the head)
/// change. Optimiser, schedule, clipping and accumulation are the shared <see cref="OptimizerStepLoop"/>.
/// </summary>
public sealed class DiscriminatorTrainer
{
    private readonly double _posWeight;

    /// <param name="options">Optimiser settings; FedProx and frozen names do not apply and must be unset.</param>
    /// <param name="posWeight">Weight of the positive term (N_neg/N_pos balances the classes); must be &gt; 0.</param>
    /// <param name="padId">Id of padded positions.</param>
    public DiscriminatorTrainer(TrainerOptions options, double posWeight, long padId)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.ProximalMu != 0 || options.FrozenParameterNames.Count != 0)
            throw new ArgumentException("DiscriminatorTrainer does not use TrainerOptions.ProximalMu or FrozenParameterNames: leave them unset.", nameof(options));
        if (!(posWeight > 0) || !double.IsFinite(posWeight)) throw new ArgumentOutOfRangeException(nameof(posWeight), posWeight, "pos_weight must be a finite number > 0.");
        Options = options;
        _posWeight = posWeight;
        PadId = padId;
    }

    public TrainerOptions Options { get; }

    public long PadId { get; }

    /// <summary>Optimiser steps a run over <paramref name="count"/> examples takes.</summary>
    public int TotalSteps(int count) => Options.TotalSteps(count);

    /// <summary>
    /// The mean BCE of <paramref name="logits"/> against <paramref name="labels"/> with this trainer's positive weight
    /// (reduction "sum" when <paramref name="sum"/>), computed the numerically stable way.
    /// </summary>
    public Tensor Loss(Tensor logits, Tensor labels, bool sum = false)
    {
        using var weight = _posWeight == 1.0 ? null : tensor(new[] { (float)_posWeight }, device: logits.device);
        using var loss = nn.BCEWithLogitsLoss(null, sum ? nn.Reduction.Sum : nn.Reduction.Mean, weight);
        return loss.forward(logits, labels);
    }

    /// <summary>
    /// Trains <paramref name="model"/> in place; torch and the data order are seeded with <see cref="TrainerOptions.Seed"/>.
    /// The model's train/eval mode is restored on return.
    /// </summary>
    public TrainResult Train(BertForSequenceClassification model, IReadOnlyList<DiscriminatorExample> examples, Action<TrainProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (examples.Count == 0) throw new ArgumentException("No labelled candidates to train the discriminator on.", nameof(examples));
        if (model.Config.NumLabels != 1) throw new ArgumentException($"The discriminator has {model.Config.NumLabels} outputs; it needs one logit.", nameof(model));
        torch.manual_seed(Options.Seed);
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        if (parameters.Count == 0) throw new InvalidOperationException("The discriminator has no trainable parameters (attach LoRA or unfreeze the head).");
        var wasTraining = model.training;
        try
        {
            using var optimizer = Options.CreateAdamW(parameters);
            using var lowPrecision = Options.LowPrecisionFor(model);
            model.train();
            var device = parameters[0].device;
            var total = TotalSteps(examples.Count);
            return new OptimizerStepLoop(Options, parameters, optimizer).Run(ShuffledStepPlan.Steps(examples.Count, total, Options), total,
                microBatches => Accumulate(model, examples, microBatches, device), progress, cancellationToken);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Forward/backward over one step's micro-batches; the summed BCE is divided by the step's example count, so accumulation is exact.</summary>
    private StepStats Accumulate(BertForSequenceClassification model, IReadOnlyList<DiscriminatorExample> examples, IReadOnlyList<int[]> microBatches, Device device)
    {
        var count = microBatches.Sum(m => m.Length);
        double lossSum = 0;
        long tokens = 0;
        foreach (var indices in microBatches)
        {
            var batch = indices.Select(i => examples[i]).ToList();
            var (input, labels) = DiscriminatorBatch.Collate(batch, PadId, device);
            var summed = Loss(model.forward(input).squeeze(-1), labels, sum: true);
            summed.div(count).backward();
            lossSum += summed.item<float>();
            tokens += batch.Sum(e => e.Ids.Length);
        }
        // One "target" per example: the loop's mean loss is then the mean BCE per candidate.
        return new StepStats(lossSum, tokens, count, count);
    }
}
