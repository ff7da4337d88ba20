using Confer.Models.Bert;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Training.MaskedLM;

/// <summary>Tensor plumbing shared by the masked-LM trainer and evaluator.</summary>
internal static class MaskedLMBatch
{
    /// <summary>Equal-length blocks as one int64 [count, length] tensor, copied in bulk.</summary>
    public static Tensor Stack(IReadOnlyList<int[]> blocks)
    {
        var length = blocks[0].Length;
        var flat = new long[blocks.Count * length];
        for (var i = 0; i < blocks.Count; i++)
        {
            if (blocks[i].Length != length)
                throw new ArgumentException($"Masked-LM block {i} has {blocks[i].Length} tokens, block 0 has {length}: all blocks must have the same length.", nameof(blocks));
            for (var j = 0; j < length; j++) flat[i * length + j] = blocks[i][j];
        }
        return tensor(flat, [blocks.Count, length]);
    }

    /// <summary>Unshifted cross-entropy summed over the labelled positions (labels <see cref="TokenMasker.IgnoreIndex"/>
    /// elsewhere); the vocabulary logits are computed at those positions only.</summary>
    public static Tensor SummedLoss(BertForMaskedLM model, Tensor inputIds, Tensor labels)
    {
        var selected = labels.ne(TokenMasker.IgnoreIndex);
        var logits = model.ForwardAt(new BertInput(inputIds), selected);
        return nn.functional.cross_entropy(logits.to(ScalarType.Float32), labels[selected], reduction: nn.Reduction.Sum);
    }
}
