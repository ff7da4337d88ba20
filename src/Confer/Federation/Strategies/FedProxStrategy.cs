using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>fedprox</c> (Li et al., arXiv 1812.06127): FedAvg on the server; each task carries μ so that the client adds
/// μ(w − w_start) to every adapter gradient. μ defaults to 0.01 (OpenFedLLM); μ = 0 is FedAvg.
/// </summary>
internal sealed class FedProxStrategy : AdapterAveragingStrategy
{
    public const double DefaultMu = 0.01;

    public override string Name => "fedprox";

    protected override bool UsesProximalMu => true;

    protected override double TaskProximalMu => Settings.ProximalMu ?? DefaultMu;

    protected override void ApplyServerUpdate(IReadOnlyDictionary<string, Tensor> average) => AdoptAverage(average);
}
