using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>flexlora</c> (Bai et al., NeurIPS 2024, arXiv 2402.11505): the server forms W_g = Σ p_k s_k B_k A_k per module
/// (via the FLoRA stack, never densely), takes its SVD W_g = U Σ Vᵀ (<see cref="LowRankSvd"/>) and keeps all
/// k = min(Σ r_k, d_out, d_in) components as the global adapter, so the global model is exact. Client k gets the
/// rank-r_k truncation — by Eckart–Young the best rank-r_k approximation of W_g — through <see cref="RankTruncation"/>.
/// Scale: the global adapter stores B = U Σ / s and A = Vᵀ, so every client keeps the shared scale s = α/r
/// (its task's LoraAlpha = s·r_k) and no client ever has to switch to scale 1. Round 1 starts from the initial
/// adapter cut to r_k.
/// </summary>
internal sealed class FlexLoraStrategy : Strategy
{
    public override string Name => "flexlora";

    protected override bool FederatesLoraPairs => true;

    protected override ClientTask BuildTask(int round, string clientId, int rank)
    {
        var adapter = RankTruncation.Cut(GlobalAdapter, Modules, ExtraKeys, rank, SeedMix.Mix(Settings.Seed, round, clientId));
        return new ClientTask(round, clientId, adapter, null, rank, Ranks.AlphaFor(rank));
    }

    protected override IReadOnlyDictionary<string, double> Aggregate(int round, IReadOnlyList<ClientContribution> contributions)
    {
        var factors = FloraStacking.Factors(contributions);
        long globalRank = 0;
        foreach (var m in Modules)
        {
            var (aStack, bStack) = FloraStacking.Stack(
                contributions.Select(c => c.Adapter[m.AKey]).ToList(), contributions.Select(c => c.Adapter[m.BKey]).ToList(), factors);
            var (u, s, vh) = LowRankSvd.Of(bStack, aStack);
            GlobalAdapter.Replace(m.BKey, u.mul(s.div(Ranks.Scale)).to(ScalarType.Float32));
            GlobalAdapter.Replace(m.AKey, vh.to(ScalarType.Float32));
            globalRank = Math.Max(globalRank, s.shape[0]);
        }
        var weights = contributions.Select(c => c.Weight).ToList();
        foreach (var key in ExtraKeys)
            GlobalAdapter.Replace(key, TensorMath.WeightedSum(contributions.Select(c => c.Adapter[key]).ToList(), weights));
        return new Dictionary<string, double> { ["flexlora/global_rank"] = globalRank };
    }
}
