using Confer.Federation.Updates;
using Confer.Models;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>flora</c> (Wang et al., NeurIPS 2024, arXiv 2409.05976): every round each client trains a fresh LoRA at its
/// own rank on base + <see cref="Strategy.MergedDelta"/>; the server stacks the returned pairs
/// (<see cref="FloraStacking"/>, s_k folded into A) and merges B_stack·A_stack = Σ p_k s_k B_k A_k into MergedDelta.
/// The global adapter keeps only non-LoRA trainable tensors (e.g. a head), averaged with p_k.
/// Privacy: the update is the dense product s_k·B_k·A_k (<see cref="UpdateForm.LoraProduct"/>). DP clips its norm
/// (scaling B_k) and adds noise to the merged dense ΔW — never to A and B, whose product would amplify it. Secure
/// aggregation cannot stack: the server would need each client's own blocks, and blocks summed into disjoint
/// positions would reveal them. Each client therefore sends its dense product (d_out·d_in per module, masked), the
/// server unmasks Σ p_k s_k B_k A_k — exactly FLoRA's noise-free ΔW — and merges it.
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

    public override UpdateForm UpdateForm => UpdateForm.LoraProduct;

    protected override IReadOnlyDictionary<string, double> Aggregate(int round, IReadOnlyList<ClientContribution> contributions)
    {
        var factors = FloraStacking.Factors(contributions);
        foreach (var m in Modules)
        {
            var (a, b) = FloraStacking.Stack(
                contributions.Select(c => c.Adapter[m.AKey]).ToList(), contributions.Select(c => c.Adapter[m.BKey]).ToList(), factors);
            var delta = b.matmul(a);
            AddDpNoise(round, [(m.DenseKey, delta)], contributions.Count);
            Merge(m.DenseKey, delta);
        }
        var weights = contributions.Select(c => c.Weight).ToList();
        foreach (var key in ExtraKeys)
        {
            var average = TensorMath.WeightedSum(contributions.Select(c => c.Adapter[key]).ToList(), weights);
            AddDpNoise(round, [(key, average)], contributions.Count);
            GlobalAdapter.Replace(key, average);
        }
        return new Dictionary<string, double> { ["flora/stacked_rank"] = contributions.Sum(c => c.Rank) };
    }

    protected override IReadOnlyDictionary<string, double> ApplyMeanDelta(int round, NamedTensors meanDelta)
    {
        foreach (var m in Modules) Merge(m.DenseKey, meanDelta[m.DenseKey].clone());
        foreach (var key in ExtraKeys) GlobalAdapter.Replace(key, GlobalAdapter[key].add(meanDelta[key]));
        return new Dictionary<string, double>();
    }

    private void Merge(string denseKey, TorchSharp.torch.Tensor delta)
    {
        if (MergedDelta.TryGet(denseKey, out var merged)) merged.add_(delta);
        else MergedDelta.Add(denseKey, delta);
    }
}
