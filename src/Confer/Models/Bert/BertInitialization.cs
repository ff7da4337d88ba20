using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models.Bert;

/// <summary>
/// HF's <c>BertPreTrainedModel._init_weights</c> for a model trained from scratch: N(0, initializer_range) matrices and
/// embeddings, zero biases, unit LayerNorm weights, and a zero padding row in the word embeddings — so training starts
/// with small logits, unlike torch's N(0, 1) embeddings.
/// </summary>
internal static class BertInitialization
{
    public static void Apply(nn.Module module, BertModel bert, double std, int padTokenId)
    {
        using var _ = no_grad();
        foreach (var (name, p) in module.named_parameters())
        {
            if (name.EndsWith("LayerNorm.weight", StringComparison.Ordinal)) p.fill_(1.0);
            else if (p.dim() == 2) p.normal_(0, std);
            else p.zero_(); // biases, including a head's own output bias
        }
        using var padRow = bert.WordEmbeddings.weight![padTokenId];
        padRow.zero_();
    }
}
