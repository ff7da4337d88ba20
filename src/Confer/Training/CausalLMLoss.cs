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
        var (batch, seq, vocab) = (logits.shape[0], logits.shape[1], logits.shape[2]);
        // Shift the labels, not the logits: position t gets label t+1 and the last position is ignored. Flattening
        // the whole logits tensor is a view, whereas narrowing it to seq-1 positions would copy [batch, seq-1, vocab]
        // (262 MB for vocab 32000 at 4×512 tokens) and scatter the gradient back into a zero-filled copy in backward.
        var ignoreLast = full(batch, 1, TokenizedExample.IgnoreLabel, dtype: labels.dtype, device: labels.device);
        var targets = cat([labels.narrow(1, 1, seq - 1), ignoreLast], 1).reshape(-1);
        var predictions = logits.reshape(-1, vocab).to(ScalarType.Float32);
        return nn.functional.cross_entropy(predictions, targets, ignore_index: TokenizedExample.IgnoreLabel, reduction: nn.Reduction.Sum);
    }
}
