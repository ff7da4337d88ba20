using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>Root-mean-square layer norm, computed in fp32 as in HF's LlamaRMSNorm.</summary>
internal sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;

    public RMSNorm(long size, double eps, ScalarType dtype, Device? device) : base(nameof(RMSNorm))
    {
        weight = new Parameter(ones(size, dtype: dtype, device: device));
        _eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.to_type(ScalarType.Float32);
        var normed = x * rsqrt(x.pow(2).mean([-1], keepdim: true) + _eps);
        return (weight * normed.to_type(input.dtype)).MoveToOuterDisposeScope();
    }
}
