using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Models.Bert;

/// <summary>Word + absolute position + token type embeddings, then LayerNorm and dropout.</summary>
internal sealed class BertEmbeddings : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BertEmbeddings(BertConfig c, Device? device) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId, device: device);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize, device: device);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize, device: device);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device);
        dropout = nn.Dropout(c.HiddenDropout);
        RegisterComponents();
    }

    public Embedding WordEmbeddings => word_embeddings;

    public override Tensor forward(Tensor inputIds, Tensor tokenTypeIds)
    {
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        var e = word_embeddings.forward(inputIds) + position_embeddings.forward(positions) + token_type_embeddings.forward(tokenTypeIds);
        return dropout.forward(LayerNorm.forward(e));
    }
}
