using Confer.Models.Bert;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Training.MaskedLM;

/// <summary>
/// Validation masked-LM loss. The masks come from a fixed seed, so evaluating before and after training scores the
/// model on exactly the same corrupted positions and the two numbers are comparable.
/// </summary>
public static class MaskedLMEvaluator
{
    /// <summary>Mean cross-entropy over the masked positions of <paramref name="blocks"/>, in eval mode (no dropout);
    /// the model's mode is restored afterwards.</summary>
    public static LossReport EvaluateLoss(BertForMaskedLM model, IReadOnlyList<int[]> blocks, MaskingOptions masking, int batchSize, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(blocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (blocks.Count == 0) throw new ArgumentException("No validation blocks to evaluate.", nameof(blocks));
        var wasTraining = model.training;
        var device = model.parameters().First().device;
        model.eval();
        try
        {
            using var masker = new TokenMasker(masking, model.Config.VocabSize, seed);
            using var _ = no_grad();
            double lossSum = 0;
            long targets = 0;
            foreach (var chunk in blocks.Chunk(batchSize))
            {
                using var scope = torch.NewDisposeScope();
                var (inputIds, labels) = masker.Mask(MaskedLMBatch.Stack(chunk));
                targets += labels.ne(TokenMasker.IgnoreIndex).sum().item<long>();
                lossSum += MaskedLMBatch.SummedLoss(model, inputIds.to(device), labels.to(device)).item<float>();
            }
            var mean = targets == 0 ? double.NaN : lossSum / targets;
            return new LossReport(mean, Math.Exp(mean), targets, blocks.Count);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
