using Confer.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)).</summary>
internal sealed class LlamaMLP : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear gate_proj;
    private readonly LoraLinear up_proj;
    private readonly LoraLinear down_proj;

    public LlamaMLP(LlamaConfig config, ScalarType dtype, Device? device) : base(nameof(LlamaMLP))
    {
        gate_proj = new LoraLinear(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, device);
        up_proj = new LoraLinear(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, device);
        down_proj = new LoraLinear(config.IntermediateSize, config.HiddenSize, config.MlpBias, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_proj.forward(SwiGlu.Product(gate_proj.forward(x), up_proj.forward(x))).MoveToOuterDisposeScope();
    }
}
