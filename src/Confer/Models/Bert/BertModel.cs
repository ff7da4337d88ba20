using Confer.Peft;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Models.Bert;

/// <summary>Input of a BERT encoder: ids, optional padding mask (1 = token) and segment ids, all [batch, seq].</summary>
public sealed record BertInput(Tensor InputIds, Tensor? AttentionMask = null, Tensor? TokenTypeIds = null);

/// <summary>Encoder outputs: per-token hidden states [b, s, h] and the tanh-pooled [CLS] vector [b, h] (null when the
/// model was built without a pooler).</summary>
public sealed record BertOutputs(Tensor LastHiddenState, Tensor? PooledOutput);

/// <summary>HF <c>BertModel</c>: embeddings, <c>encoder.layer.N</c> blocks and, unless left out, the [CLS] pooler.</summary>
public sealed class BertModel : nn.Module<BertInput, BertOutputs>
{
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;

    /// <param name="config">Encoder hyper-parameters.</param>
    /// <param name="device">Where to allocate the weights.</param>
    /// <param name="addPoolingLayer">False leaves out <c>pooler.*</c>, as HF's masked-LM model does (its checkpoints
    /// have no pooler tensors).</param>
    public BertModel(BertConfig config, Device? device = null, bool addPoolingLayer = true) : base(nameof(BertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new BertEmbeddings(config, device);
        encoder = new BertEncoder(config, device);
        pooler = addPoolingLayer ? new BertPooler(config, device) : null;
        RegisterComponents();
    }

    public BertConfig Config { get; }

    internal Embedding WordEmbeddings => embeddings.WordEmbeddings;

    public override BertOutputs forward(BertInput input)
    {
        var types = input.TokenTypeIds ?? zeros_like(input.InputIds);
        // Boolean key mask broadcast over heads and queries: true = attend.
        var mask = input.AttentionMask?.to_type(ScalarType.Bool).unsqueeze(1).unsqueeze(1);
        var hidden = encoder.forward(embeddings.forward(input.InputIds, types), mask);
        return new BertOutputs(hidden, pooler?.forward(hidden));
    }
}

internal sealed class BertEncoder : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig c, Device? device) : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>();
        for (var i = 0; i < c.NumHiddenLayers; i++) layer.Add(new BertLayer(c, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? mask)
    {
        foreach (var block in layer) hidden = block.forward(hidden, mask);
        return hidden;
    }
}

internal sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear dense;

    public BertPooler(BertConfig c, Device? device) : base(nameof(BertPooler))
    {
        dense = new LoraLinear(c.HiddenSize, c.HiddenSize, true, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden) => dense.forward(hidden.select(1, 0)).tanh();
}
