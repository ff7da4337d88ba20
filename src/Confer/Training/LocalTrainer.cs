using System.Diagnostics;
using Confer.Data;
using Confer.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Training;

/// <summary>
/// Runs one local optimisation loop on a causal LM: AdamW over the parameters that require gradients, shifted
/// cross-entropy averaged over target tokens, warm-up plus constant/linear/cosine schedule, gradient accumulation,
/// global-norm clipping, and the optional FedProx term and frozen-name hook that federated algorithms need.
/// Each call builds a fresh optimiser (clients restart their optimiser state every round, as in Shepherd).
/// </summary>
public sealed class LocalTrainer
{
    public LocalTrainer(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    public TrainerOptions Options { get; }

    /// <summary>Optimiser steps a run over <paramref name="exampleCount"/> examples takes.</summary>
    public int TotalSteps(int exampleCount) => Options.TotalSteps(exampleCount);

    /// <summary>
    /// Trains <paramref name="model"/> in place on <paramref name="examples"/>. Seeds torch with
    /// <see cref="TrainerOptions.Seed"/> first, so the same model, data and options give bitwise identical losses.
    /// Tensors frozen through <see cref="TrainerOptions.FrozenParameterNames"/> are unfrozen again and the model's
    /// train/eval mode is restored when the call returns, also on failure or cancellation.
    /// </summary>
    /// <param name="model">Model to train in place; only parameters with <c>requires_grad</c> are optimised.</param>
    /// <param name="examples">Training examples; shuffled per epoch with the seed.</param>
    /// <param name="progress">Called every <see cref="TrainerOptions.LogEvery"/> steps and after the last step.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    public TrainResult Train(nn.Module<CausalLMInput, CausalLMOutput> model, IReadOnlyList<TokenizedExample> examples,
        Action<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("No training examples: the data set is empty (check the data path and the encoder's dropped count).", nameof(examples));

        torch.manual_seed(Options.Seed);
        (CausalLanguageModel Model, bool Was)? checkpointed = Options.ActivationCheckpointing ? CheckpointLayers(model) : null;
        var frozen = Freeze(model);
        var wasTraining = model.training;
        try
        {
            var trainables = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
            if (trainables.Count == 0)
                throw new InvalidOperationException("The model has no trainable parameters: attach a LoRA adapter or unfreeze some tensors.");
            var parameters = trainables.Select(p => p.parameter).ToList();
            using var optimizer = CreateOptimizer(parameters);
            using var proximal = Options.ProximalMu > 0 ? new ProximalTerm(parameters, Options.ProximalMu) : null;
            using var lowPrecision = Options.LowPrecisionFor(model);
            model.train();
            return Loop(model, parameters, optimizer, proximal, examples, progress, cancellationToken);
        }
        finally
        {
            foreach (var p in frozen) p.requires_grad = true;
            model.train(wasTraining);
            if (checkpointed is { } lm) lm.Model.GradientCheckpointing = lm.Was;
        }
    }

    private TrainResult Loop(nn.Module<CausalLMInput, CausalLMOutput> model, IReadOnlyList<Parameter> parameters, optim.Optimizer optimizer,
        ProximalTerm? proximal, IReadOnlyList<TokenizedExample> examples, Action<TrainProgress>? progress, CancellationToken cancellationToken)
    {
        var device = parameters[0].device;
        var batcher = new Batcher(examples, Options.MicroBatchSize, Options.Seed, shuffle: true, groupByLength: Options.GroupByLength);
        var totalSteps = TotalSteps(examples.Count);
        return new OptimizerStepLoop(Options, parameters, optimizer, proximal).Run(PlanSteps(batcher, totalSteps), totalSteps,
            microBatches => AccumulateGradients(model, microBatches, Options.PadTokenId, device, Options.Packing), progress, cancellationToken);
    }

    /// <summary>
    /// Forward and backward over the micro-batches of one optimiser step, leaving the summed gradients in the
    /// parameters. Each micro-batch's summed loss is divided by the target-token count of the <em>whole</em> step, so
    /// the gradient equals that of one batch holding all micro-batches, however padding and masking split the tokens.
    /// A <see cref="CausalLanguageModel"/> runs its output layer only at labelled positions (<see cref="LabelOnlyLoss"/>).
    /// With <paramref name="packing"/>, each micro-batch's examples share rows (<see cref="BatchCollator.CollatePacked"/>);
    /// the summed loss and the gradients are those of the unpacked micro-batch.
    /// </summary>
    internal static StepStats AccumulateGradients(nn.Module<CausalLMInput, CausalLMOutput> model,
        IReadOnlyList<IReadOnlyList<TokenizedExample>> microBatches, long padTokenId, Device device, bool packing = false)
    {
        long targets = microBatches.Sum(mb => mb.Sum(e => (long)e.TargetCount));
        long tokens = microBatches.Sum(mb => mb.Sum(e => (long)e.Length));
        var examples = microBatches.Sum(mb => mb.Count);
        if (targets == 0) return new StepStats(0, tokens, 0, examples);
        double lossSum = 0;
        foreach (var microBatch in microBatches)
        {
            // A scope per micro-batch frees its activations before the next one runs.
            using var scope = torch.NewDisposeScope();
            var batch = packing ? BatchCollator.CollatePacked(microBatch, padTokenId) : BatchCollator.Collate(microBatch, padTokenId);
            if (device.type != DeviceType.CPU) batch = batch.To(device);
            // Right padding: causal attention never lets a real token see a pad, so no mask (fused kernel). Packed rows
            // carry position ids instead, from which the model builds its block-diagonal mask.
            var input = new CausalLMInput(batch.InputIds, PositionIds: batch.PositionIds);
            if (model is CausalLanguageModel lm)
            {
                lossSum += LabelOnlyLoss.SumAndBackward(lm, lm.HiddenStates(input), batch.Labels, targets);
                continue;
            }
            var summed = CausalLMLoss.SummedCrossEntropy(model.call(input).Logits, batch.Labels);
            summed.div(targets).backward();
            lossSum += summed.item<float>();
        }
        return new StepStats(lossSum, tokens, targets, examples);
    }

    /// <summary>Groups each epoch's micro-batches into optimiser steps; the last step of an epoch may be short
    /// (as in Hugging Face). Continues into further epochs until <paramref name="totalSteps"/> steps are planned.</summary>
    private IEnumerable<(int Epoch, IReadOnlyList<IReadOnlyList<TokenizedExample>> MicroBatches)> PlanSteps(Batcher batcher, int totalSteps)
    {
        var planned = 0;
        for (var epoch = 0; planned < totalSteps; epoch++)
        {
            var group = new List<IReadOnlyList<TokenizedExample>>(Options.GradientAccumulationSteps);
            foreach (var microBatch in batcher.Batches(epoch))
            {
                group.Add(microBatch);
                if (group.Count < Options.GradientAccumulationSteps) continue;
                yield return (epoch, group);
                if (++planned == totalSteps) yield break;
                group = new List<IReadOnlyList<TokenizedExample>>(Options.GradientAccumulationSteps);
            }
            if (group.Count == 0) continue;
            yield return (epoch, group);
            planned++;
        }
    }

    /// <summary>Turns on activation checkpointing for the run; returns the model and its previous setting.</summary>
    private static (CausalLanguageModel Model, bool Was) CheckpointLayers(nn.Module model)
    {
        if (model is not CausalLanguageModel lm)
            throw new NotSupportedException($"Activation checkpointing needs a decoder Confer can checkpoint per layer; {model.GetType().Name} is not a CausalLanguageModel.");
        var was = lm.GradientCheckpointing;
        lm.GradientCheckpointing = true;
        return (lm, was);
    }

    private optim.Optimizer CreateOptimizer(IReadOnlyList<Parameter> parameters) => Options.CreateAdamW(parameters);

    /// <summary>Freezes trainable tensors whose name matches <see cref="TrainerOptions.FrozenParameterNames"/>;
    /// returns them so the caller can unfreeze them afterwards.</summary>
    private List<Parameter> Freeze(nn.Module model)
    {
        var frozen = new List<Parameter>();
        if (Options.FrozenParameterNames.Count == 0) return frozen;
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (!parameter.requires_grad || !Options.FrozenParameterNames.Any(f => name.Contains(f, StringComparison.Ordinal))) continue;
            parameter.requires_grad = false;
            frozen.Add(parameter);
        }
        return frozen;
    }
}
