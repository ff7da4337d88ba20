using Confer.Federation.Updates;
using Confer.Models;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>ffa-lora</c> (Sun et al., ICLR 2024, arXiv 2403.12313): every lora_A stays frozen at the initial adapter's
/// random A_max (rank r_max, shared by all clients); only B is trained and averaged, so B̄·A = Σ p_k B_k A exactly.
/// Heterogeneous ranks [D]: client k trains B_k (d_out × r_k) against A_max[:r_k]; the server pads B_k to r_max columns
/// with the global B's own columns before averaging (<see cref="TensorMath.WeightedSumPaddedWithGlobal"/>), so a
/// column moves by Σ p_k (B_k − B) over the clients that trained it and the product moves by exactly
/// Σ p_k s (B_k − B[:, :r_k]) A[:r_k] — every client's own change — in every round. The paper has one rank; zero-padding
/// (the obvious extension) is exact only from B = 0 and makes low-rank clients "vote zero" for columns they never saw,
/// so the global tail decays by their weight every round and vanishes in a round without a high-rank client.
/// The client sends back only B (and any head); the task carries A every round, because a client process may have
/// restarted since it last saw it.
/// </summary>
internal sealed class FfaLoraStrategy : Strategy
{
    public override string Name => "ffa-lora";

    protected override bool FederatesLoraPairs => true;

    protected override bool LoraAMayBeOmitted => true;

    /// <summary>The update is B_k − B (A never moves), so DP noise lands on B only and is not amplified by a noisy A.</summary>
    public override UpdateForm UpdateForm => UpdateForm.AdapterDelta;

    protected override string? SecureAggregationProblem => Ranks.IsUniform
        ? null
        : $"secure aggregation with 'ffa-lora' needs one rank for all clients (client_ranks = {string.Join(",", Settings.ClientRanks)}): mixed ranks pad each B_k with the global B, which needs each client's rank and weight.";

    protected override void OnInitialize(NamedTensors initialAdapter, int? initialRank)
    {
        if (initialRank is null) throw new ArgumentException("'ffa-lora' freezes lora_A, but the initial adapter has no LoRA tensors.");
        if (initialRank != Ranks.MaxRank)
            throw new ArgumentException($"The initial adapter has rank {initialRank}; 'ffa-lora' needs the shared A at the largest client rank {Ranks.MaxRank}.");
        base.OnInitialize(initialAdapter, initialRank);
    }

    protected override ClientTask BuildTask(int round, string clientId, int rank)
    {
        var adapter = new NamedTensors();
        foreach (var m in Modules)
        {
            adapter.Add(m.AKey, TensorMath.Rows(GlobalAdapter[m.AKey], rank));
            adapter.Add(m.BKey, TensorMath.Columns(GlobalAdapter[m.BKey], rank));
        }
        foreach (var key in ExtraKeys) adapter.Add(key, GlobalAdapter[key].clone());
        return new ClientTask(round, clientId, adapter, null, rank, Ranks.AlphaFor(rank)) { Config = TaskConfig.Empty.With(TaskConfig.Freeze, "lora_A") };
    }

    protected override void ValidateUpdate(ClientContribution c)
    {
        base.ValidateUpdate(c);
        foreach (var m in Modules)
            if (c.Adapter.TryGet(m.AKey, out var a) && !a.to(ScalarType.Float32).eq(GlobalAdapter[m.AKey].narrow(0, 0, c.Rank)).all().item<bool>())
                throw new InvalidClientUpdateException(c.ClientId, $"'{m.AKey}' differs from the frozen A it was sent; the client must honour FreezeLoraA.");
    }

    protected override IReadOnlyDictionary<string, double> Aggregate(int round, IReadOnlyList<ClientContribution> contributions)
    {
        var weights = contributions.Select(c => c.Weight).ToList();
        foreach (var m in Modules)
        {
            var b = TensorMath.WeightedSumPaddedWithGlobal(
                contributions.Select(c => c.Adapter[m.BKey]).ToList(), weights, GlobalAdapter[m.BKey], dim: 1);
            AddDpNoise(round, [(m.BKey, b)], contributions.Count);
            GlobalAdapter.Replace(m.BKey, b);
        }
        foreach (var key in ExtraKeys)
        {
            var average = TensorMath.WeightedSum(contributions.Select(c => c.Adapter[key]).ToList(), weights);
            AddDpNoise(round, [(key, average)], contributions.Count);
            GlobalAdapter.Replace(key, average);
        }
        return new Dictionary<string, double>();
    }

    protected override IReadOnlyDictionary<string, double> ApplyMeanDelta(int round, NamedTensors meanDelta)
    {
        foreach (var (name, delta) in meanDelta) GlobalAdapter.Replace(name, GlobalAdapter[name].add(delta));
        return new Dictionary<string, double>();
    }
}
