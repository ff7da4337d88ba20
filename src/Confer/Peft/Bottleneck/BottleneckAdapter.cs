using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Peft.Bottleneck;

/// <summary>Non-linearity between the down- and up-projection of a bottleneck adapter.</summary>
public enum AdapterActivation
{
    Relu,
    Gelu,
    Silu,
}

/// <summary>
/// A bottleneck adapter slot after a transformer sub-layer (Houlsby et al., arXiv 1902.00751; Pfeiffer et al., arXiv
/// 2005.00247; FedAdapter, arXiv 2205.10162): empty — the identity, no parameters — until attached; then
/// y ← y + W_up·f(W_down·y + b_down) + b_up with W_down ∈ R^{m×d} (<c>down.weight</c>) and W_up ∈ R^{d×m}
/// (<c>up.weight</c>). Attached with W_up = 0 and b_up = 0 it is still the identity, so a fresh adapter leaves the
/// model's output unchanged (as LoRA's B = 0 does).
/// </summary>
public sealed class BottleneckAdapter : nn.Module<Tensor, Tensor>
{
    private Linear? down;
    private Linear? up;
    private AdapterActivation _activation;

    public BottleneckAdapter() : base(nameof(BottleneckAdapter))
    {
        RegisterComponents();
    }

    public bool IsAttached => down is not null;

    /// <summary>Bottleneck width m (0 when empty).</summary>
    public int Size => down is null ? 0 : (int)down.weight!.shape[0];

    /// <summary>The trainable tensors by their name under this slot (<c>down.weight</c>, <c>down.bias</c>, <c>up.weight</c>, <c>up.bias</c>).</summary>
    public IEnumerable<(string Name, Parameter Value)> Tensors()
    {
        if (down is null || up is null) yield break;
        yield return ("down.weight", down.weight!);
        yield return ("down.bias", down.bias!);
        yield return ("up.weight", up.weight!);
        yield return ("up.bias", up.bias!);
    }

    /// <summary>
    /// Attaches a fresh adapter of width <paramref name="size"/> on a d-dimensional stream: W_down ~ U(±1/√d) drawn
    /// from <paramref name="generator"/> (nn.Linear's scale, as LoRA's A), W_up, b_down, b_up = 0.
    /// </summary>
    public void Attach(long hidden, int size, AdapterActivation activation, ScalarType dtype, Device device, Generator? generator)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "The bottleneck width must be ≥ 1.");
        Detach();
        down = nn.Linear(hidden, size, hasBias: true, device: device, dtype: dtype);
        up = nn.Linear(size, hidden, hasBias: true, device: device, dtype: dtype);
        using (no_grad())
        {
            var bound = 1.0 / Math.Sqrt(hidden);
            down.weight!.uniform_(-bound, bound, generator: generator);
            down.bias!.zero_();
            up.weight!.zero_();
            up.bias!.zero_();
        }
        _activation = activation;
        register_module("down", down);
        register_module("up", up);
        down.train(training);
        up.train(training);
    }

    public void Detach()
    {
        if (down is null) return;
        register_module("down", null!);
        register_module("up", null!);
        down.Dispose();
        up!.Dispose();
        down = null;
        up = null;
    }

    public override Tensor forward(Tensor input)
    {
        if (down is null) return input;
        var h = down.forward(input);
        h = _activation switch
        {
            AdapterActivation.Relu => nn.functional.relu(h),
            AdapterActivation.Gelu => nn.functional.gelu(h),
            _ => nn.functional.silu(h),
        };
        return input + up!.forward(h);
    }
}
