using Confer.Data;
using static TorchSharp.torch;

namespace Confer.Training;

/// <summary>
/// Next-token cross-entropy: logits at position t predict the label at t+1, positions labelled
/// <see cref="TokenizedExample.IgnoreLabel"/> are skipped. It returns the <em>sum</em> over target tokens so that callers
/// can divide by the target count of a whole accumulated batch, which makes gradient accumulation exact.
/// </summary>
internal static class CausalLMLoss
{
    /// <param name="logits">[batch, seq, vocab], unshifted.</param>
    /// <param name="labels">[batch, seq] int64, unshifted.</param>
    /// <returns>A float32 scalar: Σ over targets of −log p(label).</returns>
    public static Tensor SummedCrossEntropy(Tensor logits, Tensor labels)
    {
        var seq = logits.shape[1];
        var vocab = logits.shape[2];
        var predictions = logits.narrow(1, 0, seq - 1).reshape(-1, vocab).to(ScalarType.Float32);
        var targets = labels.narrow(1, 1, seq - 1).reshape(-1);
        return nn.functional.cross_entropy(predictions, targets, ignore_index: TokenizedExample.IgnoreLabel, reduction: nn.Reduction.Sum);
    }
}
