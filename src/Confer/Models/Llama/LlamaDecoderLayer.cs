using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
internal sealed class LlamaDecoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly RMSNorm input_layernorm;
    private readonly LlamaAttention self_attn;
    private readonly RMSNorm post_attention_layernorm;
    private readonly LlamaMLP mlp;

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
        var h = x + self_attn.forward(input_layernorm.forward(x));
        return h + mlp.forward(post_attention_layernorm.forward(h));
    }
}
