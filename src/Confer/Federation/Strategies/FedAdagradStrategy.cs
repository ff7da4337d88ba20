using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary><c>fedadagrad</c>: v ← v + Δ². Defaults η = 0.1 and β1 = 0 (Flower's FedAdagrad has no momentum); β2 is unused.</summary>
internal sealed class FedAdagradStrategy : AdaptiveServerStrategy
{
    public override string Name => "fedadagrad";

    protected override IReadOnlyCollection<string> ServerOptions =>
        [nameof(FederationSettings.ServerLearningRate), nameof(FederationSettings.ServerBeta1), nameof(FederationSettings.ServerTau)];

    protected override double DefaultEta => 0.1;

    protected override double DefaultBeta1 => 0;

    protected override void UpdateSecondMoment(Tensor v, Tensor deltaSquared) => v.add_(deltaSquared);
}
