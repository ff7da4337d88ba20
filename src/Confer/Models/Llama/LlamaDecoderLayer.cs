using Confer.Peft.Bottleneck;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>
/// Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x)). Each sub-layer's output passes a bottleneck
/// adapter slot before the residual add (<c>attn_adapter</c>, <c>mlp_adapter</c>): the identity unless an adapter is attached.
/// </summary>
internal sealed class LlamaDecoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly RMSNorm input_layernorm;
    private readonly LlamaAttention self_attn;
    private readonly RMSNorm post_attention_layernorm;
    private readonly LlamaMLP mlp;
    private readonly BottleneckAdapter attn_adapter = new();
    private readonly BottleneckAdapter mlp_adapter = new();

    public LlamaDecoderLayer(LlamaConfig config, int layerIndex, ScalarType dtype, Device? device) : base(nameof(LlamaDecoderLayer))
    {
        input_layernorm = new RMSNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        self_attn = new LlamaAttention(config, layerIndex, dtype, device);
        post_attention_layernorm = new RMSNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        mlp = new LlamaMLP(config, dtype, device);
        RegisterComponents();
    }

    internal LlamaAttention Attention => self_attn;

    public override Tensor forward(Tensor x)
    {
        // Intermediates die with this call (autograd keeps what backward needs) instead of living as long as the
        // training step's dispose scope; each sub-layer's output is dead once added to the residual stream.
        using var scope = NewDisposeScope();
        var h = x + attn_adapter.forward(self_attn.forward(input_layernorm.forward(x)));
        return (h + mlp_adapter.forward(mlp.forward(post_attention_layernorm.forward(h)))).MoveToOuterDisposeScope();
    }
}
