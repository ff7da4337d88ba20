using System.Diagnostics;
using Confer.Federation;
using Confer.Federation.Strategies;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Cli.Commands.Bench;

/// <summary>
/// Timings of <see cref="Strategy.AggregateTrain"/> over several rounds (round 1 is a warm-up), of the admission
/// checks a server runs on each update as it arrives (<see cref="Strategy.CheckUpdate"/>, before the round's last
/// update is in), and the server memory each selected client costs: its task (measured as resident-set growth) and
/// its update (payload bytes held).
/// </summary>
internal sealed record AggregationBenchResult(
    string Strategy, int Clients, long UpdateBytesPerClient, double WarmupSeconds, IReadOnlyList<double> RoundSeconds,
    IReadOnlyList<double> AdmissionSeconds, long TaskRssPerClient)
{
    public double SecondsPerRound => RoundSeconds.Average();

    /// <summary>Mean time of the admission checks of one update.</summary>
    public double AdmissionSecondsPerUpdate => AdmissionSeconds.Average() / Clients;

    /// <summary>Client update bytes consumed per second (the payloads read by the aggregation).</summary>
    public double GigabytesPerSecond => (double)UpdateBytesPerClient * Clients / SecondsPerRound / 1e9;
}

/// <summary>
/// Runs a registered strategy through ConfigureTrain/CheckUpdate/AggregateTrain rounds on synthetic client updates
/// that have the exact layout of a real adapter (a perturbed copy of the initial one), with equal example counts, held
/// as the server holds an admitted update: packed into one flat buffer.
/// </summary>
internal static class AggregationBench
{
    public static AggregationBenchResult Run(string strategyName, NamedTensors initialAdapter, int clients, int rounds, int seed = 42)
    {
        var ids = Enumerable.Range(0, clients).Select(i => $"client-{i:D3}").ToList();
        var settings = new FederationSettings { ClientIds = ids, LoraRank = TrainingBench.LoraRank, LoraAlpha = 16, Seed = seed };
        using var strategy = StrategyRegistry.Create(strategyName);
        strategy.Initialize(initialAdapter, settings);
        var updates = Updates(initialAdapter, ids, seed);
        try
        {
            var seconds = new List<double>(rounds);
            var admission = new List<double>(rounds);
            long taskRssPerClient = 0;
            for (var round = 1; round <= rounds; round++)
            {
                var rssBefore = ProcessMemory.Rss;
                var tasks = strategy.ConfigureTrain(round, ids);
                // The allocator keeps freed pages, so only the first round's growth measures what tasks occupy.
                if (round == 1) taskRssPerClient = (ProcessMemory.Rss - rssBefore) / clients;
                foreach (var task in tasks) task.Adapter?.Dispose();
                var clock = Stopwatch.StartNew();
                foreach (var update in updates) strategy.CheckUpdate(update);
                admission.Add(clock.Elapsed.TotalSeconds);
                clock.Restart();
                strategy.AggregateTrain(round, updates);
                seconds.Add(clock.Elapsed.TotalSeconds);
            }
            return new AggregationBenchResult(strategyName, clients, updates[0].Adapter.ByteCount, seconds[0], seconds.Skip(1).ToList(),
                admission.Skip(1).ToList(), taskRssPerClient);
        }
        finally
        {
            foreach (var u in updates) u.Adapter.Dispose();
        }
    }

    /// <summary>
    /// Times only the averaging arithmetic (Σ p_k θ_k per tensor, as FedAvg does it) over the same updates, without the
    /// strategy's validation and bookkeeping, to show how much of a round is per-tensor overhead. <paramref name="flat"/>
    /// times the flat-buffer form (<see cref="TensorMath.WeightedSumFlat"/>) instead of one kernel per tensor per client.
    /// </summary>
    public static double AveragingOnlySeconds(NamedTensors initialAdapter, int clients, int repeats, int seed = 42, bool flat = false)
    {
        var ids = Enumerable.Range(0, clients).Select(i => $"client-{i:D3}").ToList();
        var updates = Updates(initialAdapter, ids, seed);
        try
        {
            var weights = Enumerable.Repeat(1.0 / clients, clients).ToList();
            using var _ = no_grad();
            var best = double.MaxValue;
            for (var r = 0; r < repeats; r++)
            {
                using var scope = NewDisposeScope();
                var clock = Stopwatch.StartNew();
                if (flat) TensorMath.WeightedSumFlat(updates.Select(u => u.Adapter).ToList(), initialAdapter.Names, weights);
                else
                    foreach (var name in initialAdapter.Names)
                        TensorMath.WeightedSum(updates.Select(u => u.Adapter[name]).ToList(), weights);
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }
            return best;
        }
        finally
        {
            foreach (var u in updates) u.Adapter.Dispose();
        }
    }

    private static List<ClientUpdate> Updates(NamedTensors initialAdapter, IReadOnlyList<string> ids, int seed)
    {
        var generator = new Generator((ulong)seed);
        var metrics = new Dictionary<string, double>();
        using var _ = no_grad();
        return ids.Select(id =>
        {
            using var adapter = initialAdapter.Clone();
            using var scope = NewDisposeScope();
            foreach (var (_, t) in adapter) t.add_(randn(t.shape, generator: generator).mul_(0.01f));
            return new ClientUpdate(id, adapter.PackedCopy()!, 100, metrics);
        }).ToList();
    }
}
