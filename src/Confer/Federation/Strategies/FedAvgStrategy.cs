using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>fedavg</c> — FedIT (Zhang et al., arXiv 2305.05644, Shepherd's <c>model_aggregation.py</c>): the new global
/// adapter is Σ p_k θ_k for every tensor, A and B averaged separately.
/// </summary>
internal sealed class FedAvgStrategy : AdapterAveragingStrategy
{
    public override string Name => "fedavg";

    protected override bool AdoptsAverage => true;

    protected override void ApplyServerUpdate(IReadOnlyDictionary<string, Tensor> average) => AdoptAverage(average);
}
