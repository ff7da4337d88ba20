using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>hetlora</c> (Cho et al., EMNLP 2024, arXiv 2401.06432): the global adapter lives at r_max; client k gets the
/// truncation A[:r_k], B[:, :r_k] (<see cref="RankTruncation"/>). The server pads every A_k to r_max rows and B_k to
/// r_max columns and averages them with sparsity weights w_k = ‖B_k A_k‖_F / Σ_j ‖B_j A_j‖_F, computed per module
/// [D] (p_k when every product is zero). Other trainable tensors are averaged with p_k. Like FedIT it keeps the
/// cross-term noise; client-side rank self-pruning is not part of the server.
/// Padding [D]: the paper zero-pads, so a low-rank client "votes zero" for the ranks it never held — the global
/// tail shrinks by the low-rank clients' weight every round even when nobody trains, and a round without a
/// high-rank client erases it. We pad with the global adapter's own rows/columns instead
/// (<see cref="TensorMath.WeightedSumPaddedWithGlobal"/>): a rank nobody trained keeps its value, and a rank some
/// clients trained moves by the weighted average of their changes.
/// </summary>
internal sealed class HetLoraStrategy : Strategy
{
    public override string Name => "hetlora";

    protected override bool FederatesLoraPairs => true;

    protected override void OnInitialize(NamedTensors initialAdapter, int? initialRank)
    {
        if (initialRank is not null && initialRank != Ranks.MaxRank)
            throw new ArgumentException($"The initial adapter has rank {initialRank}; 'hetlora' keeps the global adapter at the largest client rank {Ranks.MaxRank}.");
        base.OnInitialize(initialAdapter, initialRank);
    }

    protected override ClientTask BuildTask(int round, string clientId, int rank)
    {
        var adapter = RankTruncation.Cut(GlobalAdapter, Modules, ExtraKeys, rank, SeedMix.Mix(Settings.Seed, round, clientId));
        return new ClientTask(round, clientId, adapter, null, rank, Ranks.AlphaFor(rank));
    }

    protected override IReadOnlyDictionary<string, double> Aggregate(int round, IReadOnlyList<ClientContribution> contributions)
    {
        var weights = contributions.Select(c => c.Weight).ToList();
        var meanSparsityWeight = new double[contributions.Count];
        foreach (var m in Modules)
        {
            var sparsity = SparsityWeights(contributions, m, weights);
            for (var k = 0; k < sparsity.Count; k++) meanSparsityWeight[k] += sparsity[k] / Modules.Count;
            var a = contributions.Select(c => c.Adapter[m.AKey]).ToList();
            var b = contributions.Select(c => c.Adapter[m.BKey]).ToList();
            GlobalAdapter.Replace(m.AKey, TensorMath.WeightedSumPaddedWithGlobal(a, sparsity, GlobalAdapter[m.AKey], dim: 0));
            GlobalAdapter.Replace(m.BKey, TensorMath.WeightedSumPaddedWithGlobal(b, sparsity, GlobalAdapter[m.BKey], dim: 1));
        }
        foreach (var key in ExtraKeys)
            GlobalAdapter.Replace(key, TensorMath.WeightedSum(contributions.Select(c => c.Adapter[key]).ToList(), weights));
        return contributions.Select((c, k) => (c.ClientId, k))
            .ToDictionary(p => $"hetlora/sparsity_weight/{p.ClientId}", p => meanSparsityWeight[p.k], StringComparer.Ordinal);
    }

    /// <summary>w_k = ‖B_k A_k‖_F / Σ_j ‖B_j A_j‖_F for one module; falls back to p_k when all products are zero.</summary>
    internal static IReadOnlyList<double> SparsityWeights(IReadOnlyList<ClientContribution> contributions, LoraModule m, IReadOnlyList<double> fallback)
    {
        var norms = contributions.Select(c => TensorMath.ProductNorm(c.Adapter[m.BKey], c.Adapter[m.AKey])).ToList();
        var total = norms.Sum();
        return total > 0 ? norms.Select(n => n / total).ToList() : fallback;
    }
}
