using Confer.Models;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>flora</c> (Wang et al., NeurIPS 2024, arXiv 2409.05976): every round each client trains a fresh LoRA at its
/// own rank on base + <see cref="Strategy.MergedDelta"/>; the server stacks the returned pairs
/// (<see cref="FloraStacking"/>, s_k folded into A) and merges B_stack·A_stack = Σ p_k s_k B_k A_k into MergedDelta.
/// The global adapter keeps only non-LoRA trainable tensors (e.g. a head), averaged with p_k.
/// </summary>
/// <remarks>
/// Downlink: a task carries the cumulative merged ΔW densely (d_out·d_in per module). The paper sends only the stacks
/// a client has not merged yet, which needs every client to keep its merged base across rounds and restarts; Confer's
/// clients are stateless between tasks, so the traffic ledger shows the dense size that really travels.
/// </remarks>
internal sealed class FloraStrategy : Strategy
{
    public override string Name => "flora";

    protected override bool FederatesLoraPairs => true;

    protected override void OnInitialize(NamedTensors initialAdapter, int? initialRank)
    {
        var extras = new NamedTensors();
        foreach (var key in ExtraKeys) extras.Add(key, TensorMath.Fp32(initialAdapter[key]).clone());
        SetGlobalAdapter(extras);
    }

    protected override ClientTask BuildTask(int round, string clientId, int rank) =>
        new(round, clientId, GlobalAdapter.Count == 0 ? null : GlobalAdapter.Clone(), MergedDelta.Count == 0 ? null : MergedDelta, rank, Ranks.AlphaFor(rank));

    protected override IReadOnlyDictionary<string, double> Aggregate(int round, IReadOnlyList<ClientContribution> contributions)
    {
        var factors = FloraStacking.Factors(contributions);
        foreach (var m in Modules)
        {
            var (a, b) = FloraStacking.Stack(
                contributions.Select(c => c.Adapter[m.AKey]).ToList(), contributions.Select(c => c.Adapter[m.BKey]).ToList(), factors);
            var delta = b.matmul(a);
            if (MergedDelta.TryGet(m.DenseKey, out var merged)) merged.add_(delta);
            else MergedDelta.Add(m.DenseKey, delta);
        }
        var weights = contributions.Select(c => c.Weight).ToList();
        foreach (var key in ExtraKeys)
            GlobalAdapter.Replace(key, TensorMath.WeightedSum(contributions.Select(c => c.Adapter[key]).ToList(), weights));
        return new Dictionary<string, double> { ["flora/stacked_rank"] = contributions.Sum(c => c.Rank) };
    }
}
