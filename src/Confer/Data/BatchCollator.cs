using TorchSharp;

namespace Confer.Data;

/// <summary>
/// Pads tokenised examples into a <see cref="Batch"/>: right padding to the longest example, attention mask 0 and
/// label <see cref="TokenizedExample.IgnoreLabel"/> on padding. The arrays are filled on the managed side and copied
/// to tensors in one bulk call each.
/// </summary>
public static class BatchCollator
{
    /// <param name="examples">At least one example.</param>
    /// <param name="padTokenId">Id written into padded input positions. Its value never reaches the loss (mask 0,
    /// label ignored), so any valid id works; Llama has no pad token and alpaca-lora uses 0.</param>
    public static Batch Collate(IReadOnlyList<TokenizedExample> examples, long padTokenId = 0)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("Cannot collate an empty batch.", nameof(examples));
        var batch = examples.Count;
        var seq = examples.Max(e => e.Length);
        var ids = new long[batch * seq];
        var mask = new long[batch * seq];
        var labels = new long[batch * seq];
        Array.Fill(ids, padTokenId);
        Array.Fill(labels, TokenizedExample.IgnoreLabel);
        long tokens = 0, targets = 0;
        for (var b = 0; b < batch; b++)
        {
            var e = examples[b];
            var row = b * seq;
            for (var t = 0; t < e.Length; t++)
            {
                ids[row + t] = e.InputIds[t];
                labels[row + t] = e.Labels[t];
                mask[row + t] = 1;
            }
            tokens += e.Length;
            targets += e.TargetCount;
        }
        long[] shape = [batch, seq];
        return new Batch(torch.tensor(ids, shape), torch.tensor(mask, shape), torch.tensor(labels, shape), batch, tokens, targets);
    }
}
