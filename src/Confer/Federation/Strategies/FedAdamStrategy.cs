using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary><c>fedadam</c>: v ← β2 v + (1−β2) Δ². Defaults η = 0.1, β1 = 0.9, β2 = 0.99, τ = 1e-3.</summary>
internal sealed class FedAdamStrategy : AdaptiveServerStrategy
{
    public override string Name => "fedadam";

    protected override double DefaultEta => 0.1;

    protected override void UpdateSecondMoment(Tensor v, Tensor deltaSquared) => v.mul_(Beta2).add_(deltaSquared, alpha: 1 - Beta2);
}
