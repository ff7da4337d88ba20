using Confer.Data;
using Confer.Models.Bert;
using Confer.Tokenizers;
using Confer.Training.MaskedLM;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Training.ReplacedTokens;

/// <summary>
/// Pre-trains a <see cref="BertForReplacedTokenDetection"/> (ELECTRA's discriminator objective, with the
/// kind-preserving <see cref="TokenReplacer"/> instead of a generator): each micro-batch is freshly corrupted and the
/// loss is the binary cross-entropy of "replaced" over every non-special token. Optimiser, schedule, clipping and
/// accumulation follow <see cref="TrainerOptions"/> as in <see cref="MaskedLMTrainer"/>.
/// </summary>
public sealed class ReplacedTokenTrainer
{
    private readonly TextTokenizer _tokenizer;
    private readonly double _probability;

    /// <summary>ELECTRA's share of corrupted positions.</summary>
    public const double DefaultProbability = 0.15;

    public ReplacedTokenTrainer(TrainerOptions options, TextTokenizer tokenizer, double probability = DefaultProbability)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tokenizer);
        options.Validate();
        if (options.ProximalMu != 0 || options.FrozenParameterNames.Count != 0)
            throw new ArgumentException("ReplacedTokenTrainer does not support TrainerOptions.ProximalMu or FrozenParameterNames: leave them unset.", nameof(options));
        Options = options;
        _tokenizer = tokenizer;
        _probability = probability;
    }

    public TrainerOptions Options { get; }

    /// <summary>Trains <paramref name="model"/> in place on equal-length <paramref name="blocks"/>; seeded like <see cref="MaskedLMTrainer"/>.</summary>
    public TrainResult Train(BertForReplacedTokenDetection model, IReadOnlyList<int[]> blocks, Action<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Count == 0) throw new ArgumentException("No blocks: the corpus is shorter than one block (use more text or a smaller --block-size).", nameof(blocks));
        torch.manual_seed(Options.Seed);
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        var wasTraining = model.training;
        try
        {
            using var optimizer = Options.CreateAdamW(parameters);
            using var lowPrecision = Options.LowPrecisionFor(model);
            using var replacer = new TokenReplacer(_tokenizer, model.Config.VocabSize, _probability, Options.Seed);
            model.train();
            var device = parameters[0].device;
            var totalSteps = Options.TotalSteps(blocks.Count);
            return new OptimizerStepLoop(Options, parameters, optimizer).Run(ShuffledStepPlan.Steps(blocks.Count, totalSteps, Options), totalSteps,
                microBatches => AccumulateGradients(model, replacer, blocks, microBatches, device), progress, cancellationToken);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Mean "replaced" BCE over the counted tokens of <paramref name="blocks"/>, corrupted from a fixed seed
    /// so that before and after are scored on the same replacements, and the share of tokens classified right.</summary>
    public (double Loss, double Accuracy) Evaluate(BertForReplacedTokenDetection model, IReadOnlyList<int[]> blocks, int batchSize, long seed = 0)
    {
        var wasTraining = model.training;
        var device = model.parameters().First().device;
        model.eval();
        try
        {
            using var replacer = new TokenReplacer(_tokenizer, model.Config.VocabSize, _probability, seed);
            using var _ = no_grad();
            double lossSum = 0, correct = 0, counted = 0;
            foreach (var chunk in blocks.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                var (inputs, labels, mask) = replacer.Replace(MaskedLMBatch.Stack(chunk));
                var logits = model.forward(new BertInput(inputs.to(device)))[mask.to(device)];
                var target = labels.to(device)[mask.to(device)];
                lossSum += nn.functional.binary_cross_entropy_with_logits(logits, target, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.gt(0).to(ScalarType.Float32).eq(target).sum().item<long>();
                counted += target.numel();
            }
            return (lossSum / counted, correct / counted);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static StepStats AccumulateGradients(BertForReplacedTokenDetection model, TokenReplacer replacer, IReadOnlyList<int[]> blocks,
        IReadOnlyList<int[]> microBatches, Device device)
    {
        var batches = microBatches.Select(indices => replacer.Replace(MaskedLMBatch.Stack(indices.Select(i => blocks[i]).ToList()))).ToList();
        long targets = batches.Sum(b => b.Counted.sum().item<long>());
        long tokens = batches.Sum(b => b.InputIds.numel());
        if (targets == 0) return new StepStats(0, tokens, 0, microBatches.Sum(m => m.Length));
        double lossSum = 0;
        foreach (var (inputs, labels, counted) in batches)
        {
            using var scope = NewDisposeScope();
            var mask = counted.to(device);
            var logits = model.forward(new BertInput(inputs.to(device)))[mask];
            var summed = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(device)[mask], reduction: nn.Reduction.Sum);
            summed.div(targets).backward();
            lossSum += summed.item<float>();
        }
        return new StepStats(lossSum, tokens, targets, microBatches.Sum(m => m.Length));
    }
}
