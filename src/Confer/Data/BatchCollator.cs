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

    /// <summary>
    /// Packs the examples into as few rows as hold them, each row no longer than the longest example, so the decoder
    /// runs over the same examples as <see cref="Collate"/> with less padding. Rows are filled first-fit, longest
    /// example first (ties in the given order), and right-padded to the longest row. <see cref="Batch.PositionIds"/>
    /// restart at 0 for each example (and are 0 on padding), which is what makes the model attend only within an
    /// example and apply RoPE as if it were alone. Each example's first label is ignored: it would be the target of
    /// the previous example's last token, and a label never crosses an example boundary. When no two examples share a
    /// row (all of the same length, say), the result is <see cref="Collate"/>'s batch without position ids, so the model
    /// keeps its fused causal kernel instead of building a mask that would change nothing.
    /// </summary>
    /// <param name="examples">At least one example.</param>
    /// <param name="padTokenId">Id written into padded input positions; as in <see cref="Collate"/>.</param>
    public static Batch CollatePacked(IReadOnlyList<TokenizedExample> examples, long padTokenId = 0)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("Cannot collate an empty batch.", nameof(examples));
        var rows = Pack(examples);
        if (rows.Count == examples.Count) return Collate(examples, padTokenId);
        var batch = rows.Count;
        var seq = rows.Max(r => r.Sum(e => e.Length));
        var ids = new long[batch * seq];
        var mask = new long[batch * seq];
        var labels = new long[batch * seq];
        var positions = new long[batch * seq];
        Array.Fill(ids, padTokenId);
        Array.Fill(labels, TokenizedExample.IgnoreLabel);
        long tokens = 0, targets = 0;
        for (var b = 0; b < batch; b++)
        {
            var offset = b * seq;
            foreach (var e in rows[b])
            {
                for (var t = 0; t < e.Length; t++)
                {
                    ids[offset + t] = e.InputIds[t];
                    labels[offset + t] = t == 0 ? TokenizedExample.IgnoreLabel : e.Labels[t];
                    mask[offset + t] = 1;
                    positions[offset + t] = t;
                }
                offset += e.Length;
                tokens += e.Length;
                targets += e.TargetCount;
            }
        }
        long[] shape = [batch, seq];
        return new Batch(torch.tensor(ids, shape), torch.tensor(mask, shape), torch.tensor(labels, shape), examples.Count, tokens, targets,
            torch.tensor(positions, shape));
    }

    /// <summary>First-fit decreasing into rows of the longest example's length: deterministic, and never longer than
    /// the padded batch it replaces.</summary>
    internal static List<List<TokenizedExample>> Pack(IReadOnlyList<TokenizedExample> examples)
    {
        var capacity = examples.Max(e => e.Length);
        var rows = new List<List<TokenizedExample>>();
        var free = new List<int>();
        foreach (var e in examples.Select((e, i) => (e, i)).OrderByDescending(p => p.e.Length).ThenBy(p => p.i).Select(p => p.e))
        {
            var row = free.FindIndex(f => f >= e.Length);
            if (row < 0)
            {
                rows.Add([]);
                free.Add(capacity);
                row = rows.Count - 1;
            }
            rows[row].Add(e);
            free[row] -= e.Length;
        }
        return rows;
    }
}
