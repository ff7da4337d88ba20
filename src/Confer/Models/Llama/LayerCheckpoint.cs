using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Confer.Models.Llama;

/// <summary>
/// Activation checkpointing of one decoder layer, as <c>torch.utils.checkpoint</c> (which TorchSharp lacks) does it
/// with a custom autograd function: the forward runs without building a graph, so of the layer's activations only its
/// input survives until backward; backward runs the layer again with grad enabled and differentiates that recomputed
/// graph. The layer's trainable parameters are inputs of the function, so the autograd engine accumulates their
/// gradients exactly as without checkpointing (nothing is written to <c>.grad</c> behind its back), and the input
/// gradient is computed only when the input needs one (not below the lowest trainable layer).
/// The recomputation must see what the first pass saw: the same <see cref="AttentionContext"/> (mask, positions) is
/// kept for it, and the CPU random generator's state is saved before the forward and restored around the recomputation
/// (as <c>preserve_rng_state</c> does), so LoRA dropout draws the same masks both times.
/// </summary>
internal sealed class LayerCheckpoint : SingleTensorFunction<LayerCheckpoint>
{
    public override string Name => nameof(LayerCheckpoint);

    /// <summary>Runs <paramref name="layer"/> on <paramref name="hidden"/> with checkpointing.</summary>
    public static Tensor Run(LlamaDecoderLayer layer, Tensor hidden, AttentionContext attention)
    {
        object[] vars = [hidden, layer, attention, .. layer.parameters().Where(p => p.requires_grad)];
        return apply(vars);
    }

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var hidden = (Tensor)vars[0];
        var layer = (LlamaDecoderLayer)vars[1];
        ctx.save_for_backward([hidden, RandomState()]);
        ctx.save_data("layer", layer);
        ctx.save_data("attention", vars[2]);
        ctx.save_data("input_grad", hidden.requires_grad);
        ctx.save_data("parameters", vars.Skip(3).Cast<Parameter>().ToList());
        // Its own scope frees the layer's intermediates now instead of with the training step; autograd is off here
        // (TorchSharp runs a custom function's forward in no-grad mode), so nothing else holds them.
        using var scope = NewDisposeScope();
        return Forward(layer, hidden, (AttentionContext)vars[2]).MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        var layer = (LlamaDecoderLayer)ctx.get_data("layer");
        var attention = (AttentionContext)ctx.get_data("attention");
        var inputGrad = (bool)ctx.get_data("input_grad");
        var parameters = (List<Parameter>)ctx.get_data("parameters");
        var saved = ctx.get_saved_variables();
        var input = saved[0].detach().requires_grad_(inputGrad);
        IList<Tensor> grads;
        var now = RandomState();
        using (var generator = Generator.Default) generator.set_state(saved[1]);
        try
        {
            using var _ = enable_grad();
            var output = Forward(layer, input, attention);
            List<Tensor> wrt = inputGrad ? [input, .. parameters] : [.. parameters];
            grads = grad([output], wrt, [grad_output], allow_unused: true);
        }
        finally
        {
            // Later random draws continue from where the training pass left them, as if nothing had been recomputed.
            using var generator = Generator.Default;
            generator.set_state(now);
        }
        var result = new List<Tensor> { inputGrad ? Defined(grads[0]) : null!, null!, null! };
        result.AddRange(grads.Skip(inputGrad ? 1 : 0).Select(Defined));
        foreach (var g in result) g?.MoveToOuterDisposeScope();
        return result;
    }

    private static Tensor RandomState()
    {
        using var generator = Generator.Default;
        return generator.get_state();
    }

    private static Tensor Forward(LlamaDecoderLayer layer, Tensor hidden, AttentionContext attention)
    {
        var previous = layer.Attention.Context;
        layer.Attention.Context = attention;
        try
        {
            return layer.forward(hidden);
        }
        finally
        {
            layer.Attention.Context = previous;
        }
    }

    /// <summary>An unused input's gradient comes back undefined; the engine wants null for "no gradient".</summary>
    private static Tensor Defined(Tensor t) => t is null || t.IsInvalid ? null! : t;
}
