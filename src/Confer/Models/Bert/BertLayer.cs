using Confer.Peft;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Models.Bert;

/// <summary>
/// One post-LN encoder block with HF's nesting (<c>attention.self.query</c>, <c>attention.output.dense</c>,
/// <c>intermediate.dense</c>, <c>output.dense</c>), so checkpoint keys match <c>transformers</c>.
/// </summary>
internal sealed class BertLayer : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertResidualOutput output;

    public BertLayer(BertConfig c, Device? device) : base(nameof(BertLayer))
    {
        attention = new BertAttention(c, device);
        intermediate = new BertIntermediate(c, device);
        output = new BertResidualOutput(c.IntermediateSize, c.HiddenSize, c, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? mask)
    {
        // The layer's intermediates die with this call instead of living as long as the training step's dispose scope
        // (PyTorch frees them at once); autograd keeps what backward needs.
        using var scope = NewDisposeScope();
        var attended = attention.forward(hidden, mask);
        return output.forward(intermediate.forward(attended), attended).MoveToOuterDisposeScope();
    }
}

internal sealed class BertAttention : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly BertSelfAttention self;
    private readonly BertResidualOutput output;

    public BertAttention(BertConfig c, Device? device) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(c, device);
        output = new BertResidualOutput(c.HiddenSize, c.HiddenSize, c, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? mask) => output.forward(self.forward(hidden, mask), hidden);
}

/// <summary>Bidirectional multi-head attention with fused SDPA; <c>mask</c> is a boolean key mask [b,1,1,s].</summary>
internal sealed class BertSelfAttention : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly LoraLinear query;
    private readonly LoraLinear key;
    private readonly LoraLinear value;
    private readonly int _heads;
    private readonly double _dropout;

    public BertSelfAttention(BertConfig c, Device? device) : base(nameof(BertSelfAttention))
    {
        query = new LoraLinear(c.HiddenSize, c.HiddenSize, true, device: device);
        key = new LoraLinear(c.HiddenSize, c.HiddenSize, true, device: device);
        value = new LoraLinear(c.HiddenSize, c.HiddenSize, true, device: device);
        _heads = c.NumAttentionHeads;
        _dropout = c.AttentionDropout;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? mask)
    {
        var (b, s, h) = (hidden.shape[0], hidden.shape[1], hidden.shape[2]);
        Tensor Split(Tensor t) => t.view(b, s, _heads, h / _heads).transpose(1, 2);
        var attended = nn.functional.scaled_dot_product_attention(
            Split(query.forward(hidden)), Split(key.forward(hidden)), Split(value.forward(hidden)), mask, training ? _dropout : 0.0);
        return attended.transpose(1, 2).reshape(b, s, h);
    }
}

/// <summary>dense → dropout → LayerNorm(x + residual): HF's BertSelfOutput and BertOutput share this shape.</summary>
internal sealed class BertResidualOutput : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly LoraLinear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BertResidualOutput(long inFeatures, long outFeatures, BertConfig c, Device? device) : base("BertOutput")
    {
        dense = new LoraLinear(inFeatures, outFeatures, true, device: device);
        LayerNorm = nn.LayerNorm(outFeatures, c.LayerNormEps, device: device);
        dropout = nn.Dropout(c.HiddenDropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor residual) => LayerNorm.forward(dropout.forward(dense.forward(x)) + residual);
}

internal sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear dense;
    private readonly string _activation;

    public BertIntermediate(BertConfig c, Device? device) : base(nameof(BertIntermediate))
    {
        dense = new LoraLinear(c.HiddenSize, c.IntermediateSize, true, device: device);
        _activation = c.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = dense.forward(x);
        return _activation switch
        {
            "relu" => nn.functional.relu(h),
            _ => nn.functional.gelu(h),
        };
    }
}
