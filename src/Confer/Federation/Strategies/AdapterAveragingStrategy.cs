using Confer.Federation.Updates;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// The FedIT family (Shepherd): every client starts from the global adapter, every tensor — each <c>lora_A</c> and
/// each <c>lora_B</c> separately, plus any head — is averaged with p_k, and a server rule turns the average into the
/// next global adapter. Averaging A and B separately is what makes the product noisy (algorithms.md §1), and needs one
/// rank for all clients. The average may instead be a robust rule's combination of the updates
/// (<see cref="FederationSettings.Robust"/>), or, under secure aggregation, the mean update the server unmasked; under
/// differential privacy it gets the server's noise before the server rule sees it.
/// </summary>
internal abstract class AdapterAveragingStrategy : Strategy
{
    /// <summary>FedProx μ put into every task; 0 except for FedProx.</summary>
    protected virtual double TaskProximalMu => 0;

    protected override void OnInitialize(NamedTensors initialAdapter, int? initialRank)
    {
        if (!Ranks.IsUniform)
            throw new ArgumentException(
                $"'{Name}' averages lora_A and lora_B separately, so every client needs the same rank (ClientRanks = {string.Join(",", Settings.ClientRanks)}); use flora, ffa-lora, flexlora or hetlora for heterogeneous ranks.");
        if (initialRank is not null && initialRank != Ranks.MaxRank)
            throw new ArgumentException($"The initial adapter has rank {initialRank} but clients train at rank {Ranks.MaxRank}; build it at rank {Ranks.MaxRank}.");
        base.OnInitialize(initialAdapter, initialRank);
        OnGlobalReady();
    }

    /// <summary>Creates server-optimiser state once the global adapter exists.</summary>
    protected virtual void OnGlobalReady() { }

    protected override ClientTask BuildTask(int round, string clientId, int rank)
    {
        var task = new ClientTask(round, clientId, GlobalAdapter.Clone(), null, rank, Ranks.AlphaFor(rank));
        return TaskProximalMu > 0 ? task with { Config = task.Config.With(TaskConfig.ProximalMu, TaskProximalMu) } : task;
    }

    public override UpdateForm UpdateForm => UpdateForm.AdapterDelta;

    protected override bool SupportsRobustAggregation => true;

    /// <summary>True when the average becomes the global adapter as it is (FedAvg); it is then summed in place.</summary>
    protected virtual bool AdoptsAverage => false;

    protected override IReadOnlyDictionary<string, double> Aggregate(int round, IReadOnlyList<ClientContribution> contributions)
    {
        var weights = contributions.Select(c => c.Weight).ToList();
        if (AdoptsAverage && Robust is null && PackGlobalAdapter())
        {
            // Straight into the global adapter's buffer: no average to allocate and no per-tensor copy-out, which
            // at ~100 small tensors cost more than the arithmetic of ten clients. The updates never alias it.
            TensorMath.WeightedSumInto(GlobalAdapter.Flat!, contributions.Select(c => c.Adapter).ToList(), GlobalAdapter.Names, weights);
            AddDpNoise(round, GlobalAdapter.Select(kv => (kv.Key, kv.Value)), contributions.Count);
            return new Dictionary<string, double>();
        }
        var average = Robust is { } robust
            ? RobustAverage(robust, contributions, weights)
            : TensorMath.WeightedSumFlat(contributions.Select(c => c.Adapter).ToList(), GlobalAdapter.Names, weights);
        // Noise on the average is noise on the mean update: the average is the global adapter plus that mean.
        AddDpNoise(round, average.Select(kv => (kv.Key, kv.Value)), contributions.Count);
        ApplyServerUpdate(average);
        return new Dictionary<string, double>();
    }

    protected override IReadOnlyDictionary<string, double> ApplyMeanDelta(int round, NamedTensors meanDelta)
    {
        ApplyServerUpdate(GlobalAdapter.Names.ToDictionary(name => name, name => GlobalAdapter[name].add(meanDelta[name]), StringComparer.Ordinal));
        return new Dictionary<string, double>();
    }

    /// <summary>θ + the robust combination of the flattened updates Δ_k = θ_k − θ (every tensor of the adapter together).</summary>
    private Dictionary<string, Tensor> RobustAverage(Robustness.Aggregators.IRobustAggregator robust, IReadOnlyList<ClientContribution> contributions, IReadOnlyList<double> weights)
    {
        var names = GlobalAdapter.Names;
        var rows = contributions.Select(c => cat([.. names.Select(n => TensorMath.Fp32(c.Adapter[n]).sub(GlobalAdapter[n]).flatten())], 0)).ToList();
        var combined = robust.Combine(stack(rows).to(ScalarType.Float64), weights).to(ScalarType.Float32);
        var average = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var name in names)
        {
            var global = GlobalAdapter[name];
            average[name] = global.add(combined.narrow(0, offset, global.numel()).reshape(global.shape));
            offset += global.numel();
        }
        return average;
    }

    /// <summary>Turns the p_k-weighted average of the client adapters into the new global adapter.</summary>
    protected abstract void ApplyServerUpdate(IReadOnlyDictionary<string, Tensor> average);

    /// <summary>Plain FedAvg: the average becomes the global adapter as is.</summary>
    protected void AdoptAverage(IReadOnlyDictionary<string, Tensor> average)
    {
        foreach (var (name, t) in average) GlobalAdapter.Replace(name, t);
    }

    /// <summary>A zero tensor (or <paramref name="fill"/>) per global tensor, for optimiser moments.</summary>
    protected NamedTensors MomentLike(double fill = 0)
    {
        var moments = new NamedTensors();
        foreach (var (name, t) in GlobalAdapter) moments.Add(name, full_like(t, fill));
        return moments;
    }

    /// <summary>Writes <paramref name="moments"/> under <c>prefix + name</c>.</summary>
    protected static void ExportMoments(string prefix, NamedTensors moments, NamedTensors into)
    {
        foreach (var (name, t) in moments) into.Add(prefix + name, t.clone());
    }

    /// <summary>Reads every <c>prefix + name</c> entry into <paramref name="moments"/> (in place) and removes it from <paramref name="state"/>.</summary>
    protected static void ImportMoments(string prefix, NamedTensors moments, Dictionary<string, Tensor> state)
    {
        foreach (var name in moments.Names)
        {
            if (!state.Remove(prefix + name, out var t))
                throw new ArgumentException($"State lacks '{prefix + name}'; it was not exported by this strategy.");
            if (!t.shape.SequenceEqual(moments[name].shape))
                throw new ArgumentException($"State tensor '{prefix + name}' has shape [{string.Join(",", t.shape)}], expected [{string.Join(",", moments[name].shape)}].");
            moments[name].copy_(t);
        }
    }
}
