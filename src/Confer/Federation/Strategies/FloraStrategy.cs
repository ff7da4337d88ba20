using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>flora</c> (Wang et al., NeurIPS 2024, arXiv 2409.05976): every round each client trains a fresh LoRA at its
/// own rank on base + <see cref="Strategy.MergedDelta"/>; the server stacks the returned pairs
/// (<see cref="FloraStacking"/>, s_k folded into A) and merges B_stack·A_stack = Σ p_k s_k B_k A_k into MergedDelta.
/// The global adapter keeps only non-LoRA trainable tensors (e.g. a head), averaged with p_k. Downlink per module: the
/// stacks a client has not received yet, R(d_in + d_out) with R their summed ranks, or the dense d_in·d_out if smaller.
/// </summary>
internal sealed class FloraStrategy : Strategy
{
    private const string StackRanksKey = "flora/stack_ranks";
    private const string SyncedPrefix = "flora/synced/";
    private readonly SortedDictionary<int, int> _stackRanks = new();
    private readonly ClientSyncBook _synced = new();

    public override string Name => "flora";

    private int LastMergedRound => _stackRanks.Count == 0 ? 0 : _stackRanks.Keys.Max();

    protected override void OnInitialize(NamedTensors initialAdapter, int? initialRank)
    {
        if (Modules.Count == 0) throw new ArgumentException("'flora' stacks LoRA pairs, but the initial adapter has no lora_A/lora_B tensors.");
        var extras = new NamedTensors();
        foreach (var key in ExtraKeys) extras.Add(key, TensorMath.Fp32(initialAdapter[key]).clone());
        SetGlobalAdapter(extras);
    }

    protected override ClientTask BuildTask(int round, string clientId, int rank)
    {
        var down = StackDownlink(clientId) + TransferCost.Of(GlobalAdapter);
        _synced.MarkSynced(clientId, LastMergedRound);
        return new ClientTask(
            round, clientId,
            GlobalAdapter.Count == 0 ? null : GlobalAdapter.Clone(),
            MergedDelta.Count == 0 ? null : MergedDelta,
            rank, Ranks.AlphaFor(rank), false, 0, down);
    }

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
        var stackedRank = contributions.Sum(c => c.Rank);
        _stackRanks[round] = stackedRank;
        return new Dictionary<string, double> { ["flora/stacked_rank"] = stackedRank };
    }

    protected override void ExportExtraState(NamedTensors into)
    {
        var pairs = _stackRanks.SelectMany(p => new long[] { p.Key, p.Value }).ToArray();
        into.Add(StackRanksKey, tensor(pairs, [_stackRanks.Count, 2]));
        _synced.Export(SyncedPrefix, into);
    }

    protected override void ImportExtraState(Dictionary<string, Tensor> state)
    {
        if (!state.Remove(StackRanksKey, out var ranks))
            throw new ArgumentException($"State lacks '{StackRanksKey}'; it was not exported by 'flora'.");
        var pairs = ranks.to(ScalarType.Int64).data<long>().ToArray();
        _stackRanks.Clear();
        for (var i = 0; i + 1 < pairs.Length; i += 2) _stackRanks[(int)pairs[i]] = (int)pairs[i + 1];
        _synced.Import(SyncedPrefix, state);
    }

    /// <summary>Per module min(R(d_in + d_out), d_in·d_out) for the stacks merged since the client last synced.</summary>
    private TransferCost StackDownlink(string clientId)
    {
        var since = _synced.LastSynced(clientId);
        long missedRank = _stackRanks.Where(p => p.Key > since).Sum(p => (long)p.Value);
        if (missedRank == 0) return TransferCost.Zero;
        return TransferCost.Fp32(Modules.Sum(m => Math.Min(missedRank * (m.DIn + m.DOut), m.DIn * m.DOut)));
    }
}
