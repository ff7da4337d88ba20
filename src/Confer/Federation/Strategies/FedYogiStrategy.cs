using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>fedyogi</c>: v ← v − (1−β2) Δ² ⊙ sign(v − Δ²), which lets v grow only as fast as Δ² demands. Defaults η = 0.01
/// (Flower), β1 = 0.9, β2 = 0.99, τ = 1e-3.
/// </summary>
internal sealed class FedYogiStrategy : AdaptiveServerStrategy
{
    public override string Name => "fedyogi";

    protected override double DefaultEta => 0.01;

    protected override void UpdateSecondMoment(Tensor v, Tensor deltaSquared) =>
        v.add_(deltaSquared.mul(v.sub(deltaSquared).sign()), alpha: Beta2 - 1);
}
