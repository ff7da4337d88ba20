using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Confer.Models.Llama;

/// <summary>
/// silu(gate)·up, the SwiGLU product, as one autograd node that keeps only its two inputs for backward. Autograd's own
/// graph of <c>silu(gate).mul_(up)</c> keeps a third [tokens × intermediate] tensor per decoder layer: the in-place
/// product overwrites silu(gate), which its derivative with respect to <c>up</c> needs, so autograd saves a copy
/// first. Backward recomputes silu(gate) from <c>gate</c> instead. The forward value is the same expression, bit for
/// bit; the gradients are the same function, rounded in another order (tests compare them with autograd's to 1e-6).
/// </summary>
internal sealed class SwiGlu : SingleTensorFunction<SwiGlu>
{
    public override string Name => nameof(SwiGlu);

    /// <summary>silu(<paramref name="gate"/>)·<paramref name="up"/>, through this node when a gradient is needed.</summary>
    public static Tensor Product(Tensor gate, Tensor up) =>
        is_grad_enabled() && (gate.requires_grad || up.requires_grad) ? apply(gate, up) : nn.functional.silu(gate).mul_(up);

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var (gate, up) = ((Tensor)vars[0], (Tensor)vars[1]);
        ctx.save_for_backward([gate, up]);
        ctx.save_data("needs", (gate.requires_grad, up.requires_grad));
        return nn.functional.silu(gate).mul_(up);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        var saved = ctx.get_saved_variables();
        var (gate, up) = (saved[0], saved[1]);
        var (gateNeeds, upNeeds) = ((bool, bool))ctx.get_data("needs");
        using var scope = NewDisposeScope();
        var sigmoid = gate.sigmoid();
        var silu = gate.mul(sigmoid);
        var upGrad = upNeeds ? grad_output.mul(silu) : null;
        Tensor? gateGrad = null;
        if (gateNeeds)
        {
            // d silu/d gate = σ + silu·(1 − σ)
            var derivative = sigmoid.neg().add_(1).mul_(silu).add_(sigmoid);
            gateGrad = grad_output.mul(up).mul_(derivative);
        }
        gateGrad?.MoveToOuterDisposeScope();
        upGrad?.MoveToOuterDisposeScope();
        return [gateGrad!, upGrad!];
    }
}
