using BenchmarkDotNet.Attributes;
using Confer.Federation;
using Confer.Federation.Strategies;
using Confer.Models;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Benchmarks;

/// <summary>
/// FedAvg's server aggregation of 10 client updates with the layout of a config-M LoRA r = 8 all-linear adapter
/// (112 tensors, 2.5 MB each update): validation plus the p_k-weighted average. The round is configured in the
/// iteration setup, so only <see cref="Strategy.AggregateTrain"/> is measured.
/// </summary>
[MemoryDiagnoser(displayGenColumns: false)]
public class FedAvgAggregationBenchmark
{
    private const int Clients = 10;
    private Strategy _strategy = null!;
    private List<ClientUpdate> _updates = null!;
    private List<string> _ids = null!;
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        using var adapter = InitialAdapter();
        _ids = Enumerable.Range(0, Clients).Select(i => $"client-{i:D2}").ToList();
        _strategy = StrategyRegistry.Create("fedavg");
        _strategy.Initialize(adapter, new FederationSettings { ClientIds = _ids, LoraRank = 8, LoraAlpha = 16 });
        var generator = new Generator(7);
        var metrics = new Dictionary<string, double>();
        _updates = _ids.Select(id =>
        {
            var update = adapter.Clone();
            using var scope = NewDisposeScope();
            foreach (var (_, t) in update) t.add_(randn(t.shape, generator: generator).mul_(0.01f));
            return new ClientUpdate(id, update, 100, metrics);
        }).ToList();
    }

    [IterationSetup]
    public void ConfigureRound()
    {
        foreach (var task in _strategy.ConfigureTrain(++_round, _ids)) task.Adapter?.Dispose();
    }

    [Benchmark(Description = "FedAvg AggregateTrain, 10 clients × 2.5 MB (config M, r=8)")]
    public RoundSummary Aggregate() => _strategy.AggregateTrain(_round, _updates);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var u in _updates) u.Adapter.Dispose();
        _strategy.Dispose();
    }

    private static NamedTensors InitialAdapter()
    {
        using var model = BenchModels.WithLora(BenchModels.M);
        return LoraModel.Capture(model);
    }
}
