using Confer.Data;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Training;

/// <summary>
/// The shifted next-token cross-entropy of <see cref="CausalLMLoss"/>, with its backward, computed only where the loss
/// needs it. The output layer runs only on the hidden states of positions whose next token carries a label (an
/// instruction example's prompt and every pad carry none), and in chunks of rows: each chunk's logits, softmax and
/// gradient are freed by that chunk's own backward, so the [tokens × vocab] logits of a batch never exist at once.
/// The gradient with respect to the selected hidden rows gathers in a detached leaf and then goes through the decoder
/// in one backward, so the decoder runs backward once per micro-batch, as in the plain path.
/// </summary>
internal static class LabelOnlyLoss
{
    /// <summary>Logit elements per chunk: 2²⁴ fp32 = 64 MiB (524 rows at vocabulary 32,000), large enough that the
    /// output-layer matmul keeps its efficiency and small next to a decoder's activations.</summary>
    public const long ChunkElements = 1L << 24;

    /// <summary>
    /// Runs the output layer and the loss at labelled positions and back-propagates Σ loss ÷ <paramref name="divisor"/>
    /// into <paramref name="model"/>'s parameters (through <paramref name="hidden"/>'s graph when it has one).
    /// </summary>
    /// <param name="model">The model whose <see cref="CausalLanguageModel.OutputLogits"/> turns hidden rows into logits.</param>
    /// <param name="hidden">[batch, seq, hidden] from <see cref="CausalLanguageModel.HiddenStates"/>.</param>
    /// <param name="labels">[batch, seq] int64, unshifted; <see cref="TokenizedExample.IgnoreLabel"/> where there is no target.</param>
    /// <param name="divisor">What the summed loss is divided by before backward (the step's target count).</param>
    /// <param name="chunkElements">Logit elements per chunk; tests pass small values to exercise several chunks.</param>
    /// <returns>Σ over targets of −log p(label), as the plain path's <see cref="CausalLMLoss.SummedCrossEntropy"/>.</returns>
    public static double SumAndBackward(CausalLanguageModel model, Tensor hidden, Tensor labels, long divisor, long chunkElements = ChunkElements)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(divisor);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkElements);
        using var scope = NewDisposeScope();
        var (batch, seq, width) = (labels.shape[0], labels.shape[1], hidden.shape[2]);
        // Position t predicts label t+1; the last position of every row predicts nothing.
        var ignoreLast = full(batch, 1, TokenizedExample.IgnoreLabel, dtype: labels.dtype, device: labels.device);
        var targets = cat([labels.narrow(1, 1, seq - 1), ignoreLast], 1).reshape(-1);
        var rows = targets.ne(TokenizedExample.IgnoreLabel).nonzero().squeeze(1);
        var count = rows.shape[0];
        if (count == 0) return 0;
        var selected = hidden.reshape(-1, width).index_select(0, rows);
        var selectedTargets = targets.index_select(0, rows);

        // A zero-row pass gives the vocabulary size of whatever the output layer is (lm_head, tied, LoRA-wrapped).
        var vocab = model.OutputLogits(selected.narrow(0, 0, 0)).shape[^1];
        var chunkRows = Math.Max(1, chunkElements / vocab);
        var leaf = selected.detach().requires_grad_(selected.requires_grad);
        double sum = 0;
        for (long start = 0; start < count; start += chunkRows)
        {
            using var chunkScope = NewDisposeScope();
            var length = Math.Min(chunkRows, count - start);
            var logits = model.OutputLogits(leaf.narrow(0, start, length)).to(ScalarType.Float32);
            var loss = nn.functional.cross_entropy(logits, selectedTargets.narrow(0, start, length), reduction: nn.Reduction.Sum);
            if (loss.requires_grad) loss.div(divisor).backward();
            sum += loss.item<float>();
        }
        if (leaf.grad is { } grad) selected.backward([grad]);
        return sum;
    }
}
