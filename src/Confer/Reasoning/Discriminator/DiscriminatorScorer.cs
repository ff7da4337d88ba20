using Confer.Models.Bert;
using static TorchSharp.torch;

namespace Confer.Reasoning.Discriminator;

/// <summary>Scores candidates with a discriminator in eval mode: one logit z per input (σ(z) is the probability it is correct).</summary>
public static class DiscriminatorScorer
{
    /// <summary>The logits of <paramref name="examples"/>, in order, computed in batches of <paramref name="batchSize"/>.</summary>
    public static float[] Logits(BertForSequenceClassification model, IReadOnlyList<DiscriminatorExample> examples, int batchSize, long padId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var logits = new float[examples.Count];
        if (examples.Count == 0) return logits;
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            var device = model.parameters().First().device;
            for (var start = 0; start < examples.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batch = examples.Skip(start).Take(batchSize).ToList();
                var (input, _) = DiscriminatorBatch.Collate(batch, padId, device);
                var z = model.forward(input).squeeze(-1).to(ScalarType.Float32, CPU);
                z.data<float>().CopyTo(logits, start);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return logits;
    }
}
