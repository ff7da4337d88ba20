using Confer.Data;
using Confer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Training;

/// <summary>
/// Measures a model: mean token loss and perplexity on tokenised data, and exact-match accuracy on QA items through
/// any generation function (so the evaluator does not depend on how text is generated).
/// </summary>
public static class Evaluator
{
    /// <summary>
    /// Token-weighted mean cross-entropy and perplexity over <paramref name="examples"/>, with gradients off and the
    /// model in eval mode (dropout off); the model's previous mode is restored. The result does not depend on
    /// <paramref name="batchSize"/>: losses are summed over target tokens and divided once.
    /// </summary>
    public static LossReport EvaluateLoss(nn.Module<CausalLMInput, CausalLMOutput> model, IReadOnlyList<TokenizedExample> examples,
        int batchSize = 8, long padTokenId = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var wasTraining = model.training;
        var device = model.parameters().FirstOrDefault()?.device ?? CPU;
        double lossSum = 0;
        long targets = 0;
        try
        {
            model.eval();
            using var _ = no_grad();
            // Length grouping only changes which examples share a batch, never the sum, and cuts padding.
            var batcher = new Batcher(examples, batchSize, seed: 0, shuffle: false, groupByLength: true);
            foreach (var group in batcher.Batches(0))
            {
                using var scope = torch.NewDisposeScope();
                var batch = BatchCollator.Collate(group, padTokenId);
                if (batch.TargetTokenCount == 0) continue;
                if (device.type != DeviceType.CPU) batch = batch.To(device);
                var logits = model.call(new CausalLMInput(batch.InputIds)).Logits; // right padding: causal attention never lets a real token see a pad, so no mask (fused kernel)
                lossSum += CausalLMLoss.SummedCrossEntropy(logits, batch.Labels).to(ScalarType.Float64).item<double>();
                targets += batch.TargetTokenCount;
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        var mean = targets == 0 ? double.NaN : lossSum / targets;
        return new LossReport(mean, Math.Exp(mean), targets, examples.Count);
    }

    /// <summary>
    /// Generates an answer for each record (in batches of <paramref name="batchSize"/>) and scores it by exact match
    /// after extraction and normalisation.
    /// </summary>
    /// <param name="records">Questions with gold answers.</param>
    /// <param name="generate">Returns one output text per record of the batch it is given, in order.</param>
    /// <param name="extractor">How to read answers; null picks <see cref="AnswerExtractor.For"/> per record.</param>
    /// <param name="batchSize">Records per call to <paramref name="generate"/>.</param>
    public static QaReport EvaluateQa(IReadOnlyList<QaRecord> records, Func<IReadOnlyList<QaRecord>, IReadOnlyList<string>> generate,
        AnswerExtractor? extractor = null, int batchSize = 1)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(generate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var predictions = new List<QaPrediction>(records.Count);
        foreach (var chunk in records.Chunk(batchSize))
        {
            var outputs = generate(chunk);
            if (outputs.Count != chunk.Length)
                throw new InvalidOperationException($"The generation function returned {outputs.Count} outputs for {chunk.Length} questions; it must return one per question.");
            for (var i = 0; i < chunk.Length; i++)
            {
                var record = chunk[i];
                var reader = extractor ?? AnswerExtractor.For(record);
                var extracted = reader.Extract(outputs[i], record);
                predictions.Add(new QaPrediction(record, outputs[i], extracted, extracted is not null && extracted == reader.Normalize(record.Answer)));
            }
        }
        return new QaReport(predictions.Count, predictions.Count(p => p.Correct), predictions.Count(p => p.Extracted is null), predictions);
    }
}
