using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Training;

/// <summary>
/// FedProx's proximal term μ/2·Σ‖w − w₀‖² over the trainable tensors, with w₀ captured at construction (the global
/// weights a client starts its round from). The trainer adds its gradient μ(w − w₀) directly to the accumulated
/// gradients once per optimiser step, which equals adding the term to the loss but costs no extra graph and keeps the
/// reported loss the task loss.
/// </summary>
internal sealed class ProximalTerm : IDisposable
{
    private readonly List<(Parameter Weight, Tensor Anchor)> _pairs;

    public ProximalTerm(IEnumerable<Parameter> parameters, double mu)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (mu < 0 || !double.IsFinite(mu)) throw new ArgumentOutOfRangeException(nameof(mu), mu, "FedProx μ must be a finite number ≥ 0.");
        Mu = mu;
        using var _ = no_grad();
        _pairs = parameters.Select(p =>
        {
            using var view = p.detach();
            return (p, view.clone().DetachFromDisposeScope());
        }).ToList();
    }

    public double Mu { get; }

    /// <summary>μ/2·Σ‖w − w₀‖² as a differentiable scalar (for logging and checks).</summary>
    public Tensor Penalty()
    {
        var total = zeros(1, dtype: ScalarType.Float32, device: _pairs.Count > 0 ? _pairs[0].Weight.device : null).squeeze();
        foreach (var (weight, anchor) in _pairs) total = total + (weight - anchor).square().sum().to(ScalarType.Float32);
        return total * (Mu / 2);
    }

    /// <summary>Adds ∂/∂w of the penalty, μ(w − w₀), to each weight's gradient. A no-op when μ = 0.</summary>
    public void AddGradient()
    {
        if (Mu == 0) return;
        using var _ = no_grad();
        foreach (var (weight, anchor) in _pairs)
        {
            var grad = weight.grad;
            if (grad is null) weight.grad = (weight - anchor).mul_(Mu);
            else grad.add_(weight - anchor, alpha: Mu);
        }
    }

    public void Dispose()
    {
        foreach (var (_, anchor) in _pairs) anchor.Dispose();
        _pairs.Clear();
    }
}
