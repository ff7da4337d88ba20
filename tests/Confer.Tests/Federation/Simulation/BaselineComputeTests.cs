using Confer.Federation.Reporting;
using Confer.Federation.Simulation;

namespace Confer.Tests.Federation.Simulation;

/// <summary>
/// The baselines' optimiser-step counts on a real tiny simulation: with <c>baseline_steps: 0</c> the centralized model
/// takes exactly the optimiser steps the federation's clients reported and each local-only model rounds × its client's
/// steps per round; a fixed count is labelled as not compute-matched.
/// </summary>
public class BaselineComputeTests : IClassFixture<SimulationEngineTests.ModelFolder>
{
    private readonly SimulationEngineTests.ModelFolder _model;

    public BaselineComputeTests(SimulationEngineTests.ModelFolder model) => _model = model;

    // One client per round, one epoch per round at micro-batch 8 over at most 40 records per client, no local test split.
    private SimulationSettings Settings(string output, int baselineSteps, int baselineClients) => new()
    {
        Name = "b", Output = output, Model = _model.Path, Strategy = "fedavg", Rounds = 2,
        Data = SharedDataPath.Of("dolly-15k", "shepherd-10clients"),
        TestData = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "global_test.json"),
        MaxClientRecords = 40, LocalTestFraction = 0, Fraction = 0.1, MinClients = 1, LocalSteps = 0, LocalEpochs = 1, MicroBatchSize = 8,
        CutoffLen = 128, LearningRate = 5e-3, LoraRank = 4, LoraAlpha = 8, EvalBatchSize = 16,
        Baselines = ["local", "centralized"], BaselineSteps = baselineSteps, BaselineClients = baselineClients,
    };

    [Fact]
    public void MatchedBaselinesTakeTheFederationsOptimiserSteps()
    {
        using var dir = new TempDir();
        var result = SimulationEngine.Run(Settings(dir.Path, 0, 0), Path.Combine(dir.Path, "run"), resume: false, ct: TestContext.Current.CancellationToken);
        var rounds = new RunFolder(result.RunFolder).Rounds().Where(r => r.Round > 0).ToList();
        Assert.All(rounds, r => Assert.Single(r.Aggregated));
        // The steps the clients' own trainers reported (one client per round, so the round's train_steps is its count).
        var federationSteps = (int)rounds.Sum(r => r.Metric("train_steps")!.Value);

        var metrics = RunMetrics.Read(result.RunFolder);
        var central = Assert.Single(metrics.Baselines, b => b.Name == BaselineEntry.Centralized);
        Assert.Equal(federationSteps, central.Steps);
        Assert.True(central.IsMatched, central.Compute);
        Assert.Contains($"the federation's {federationSteps} client optimiser steps", central.Compute, StringComparison.Ordinal);
        Assert.StartsWith($"{federationSteps} steps, compute-matched", result.CentralizedCompute, StringComparison.Ordinal);

        // Each local-only model: rounds × its client's steps per round — for the clients that trained in the
        // federation, the steps their own trainer reported there.
        Assert.Equal(10, metrics.LocalOnly.Count);
        foreach (var r in rounds)
            Assert.Equal(2 * (int)r.Metric("train_steps")!.Value, metrics.LocalOnly.Single(b => b.Client == r.Aggregated[0]).Steps);
        Assert.StartsWith("all 10 clients, compute-matched", result.LocalOnlyCompute, StringComparison.Ordinal);
    }

    [Fact]
    public void FixedBaselineStepsAreLabelledNotComputeMatched()
    {
        using var dir = new TempDir();
        var result = SimulationEngine.Run(Settings(dir.Path, 3, 2), Path.Combine(dir.Path, "run"), resume: false, ct: TestContext.Current.CancellationToken);
        var metrics = RunMetrics.Read(result.RunFolder);
        Assert.All(metrics.Baselines, b => Assert.Equal(3, b.Steps));
        Assert.All(metrics.Baselines, b => Assert.False(b.IsMatched, b.Compute));
        Assert.Contains("3 steps, NOT compute-matched: baseline_steps 3 (matched would be the federation's ", result.CentralizedCompute, StringComparison.Ordinal);
        Assert.Equal(2, metrics.LocalOnly.Count); // the seeded sample of baseline_clients: 2 of 10
        Assert.StartsWith("a seeded sample of 2 of 10 clients, NOT compute-matched: baseline_steps 3", result.LocalOnlyCompute, StringComparison.Ordinal);
    }

    [Fact]
    public void TheLocalOnlySampleIsSeededAndKeepsClientOrder()
    {
        var clients = Enumerable.Range(0, 100).Select(i => new ClientData($"client_{i}", [], [])).ToList();
        var a = BaselineSample.Of(clients, 10, seed: 42).Select(c => c.Id).ToList();
        Assert.Equal(10, a.Count);
        Assert.Equal(a, BaselineSample.Of(clients, 10, seed: 42).Select(c => c.Id));
        Assert.NotEqual(a, BaselineSample.Of(clients, 10, seed: 43).Select(c => c.Id));
        Assert.Equal(a.OrderBy(id => int.Parse(id["client_".Length..], System.Globalization.CultureInfo.InvariantCulture)), a);
        Assert.Equal(100, BaselineSample.Of(clients, 0, seed: 42).Count);
    }
}
