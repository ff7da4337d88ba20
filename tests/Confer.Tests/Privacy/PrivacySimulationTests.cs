using Confer.Configuration;
using Confer.Federation.Reporting;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Privacy.SecureAggregation;
using Confer.Tests.Federation.Simulation;
using Confer.Models.Safetensors;

namespace Confer.Tests.Privacy;

/// <summary>
/// Tiny real simulations (stories260K, real Dolly shards) with secure aggregation, differential privacy, robust
/// aggregation and attacks switched on through the run's keys, as a user would: they run the same round driver and
/// message stages as a deployment.
/// </summary>
public class PrivacySimulationTests(SimulationEngineTests.ModelFolder model) : IClassFixture<SimulationEngineTests.ModelFolder>
{
    private SimulationSettings Settings(string output, string name) => new()
    {
        Name = name, Output = output, Model = model.Path, Rounds = 1, Scheduler = "all", Clients = 3, Allocation = "iid",
        Data = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "local_training_0.json"),
        TestData = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "global_test.json"),
        MaxClientRecords = 8, LocalTestFraction = 0, LocalSteps = 2, MicroBatchSize = 2, CutoffLen = 256, LearningRate = 5e-3,
        LoraRank = 2, LoraAlpha = 4, Baselines = [], EvalBatchSize = 16, EvalEvery = 0,
    };

    private static SimulationResult Run(SimulationSettings s) => SimulationEngine.Run(s, Path.Combine(s.Output, s.Name), resume: false, ct: TestContext.Current.CancellationToken);

    private static NamedTensors FinalAdapter(SimulationResult r) => SafetensorsFile.Load(Path.Combine(r.RunFolder, "final", "adapter", "adapter_model.safetensors"));

    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedadam")]
    public void A_secure_round_equals_the_plain_round_within_the_fixed_point_bound(string strategy)
    {
        using var dir = new TempDir();
        var plain = Settings(dir.Path, "plain");
        plain.Strategy = strategy;
        var secure = Settings(dir.Path, "secure");
        secure.Strategy = strategy;
        secure.SecureAggregation = true;
        using var expected = FinalAdapter(Run(plain));
        var result = Run(secure);
        using var actual = FinalAdapter(result);
        var round = new RunFolder(result.RunFolder).Rounds().Single(r => r.Round == 1);
        Assert.Equal(["client_0", "client_1", "client_2"], round.Aggregated);
        // Σ n_k travels masked with the update: the record's example count is the unmasked sum.
        Assert.Equal(24, round.Examples);
        // The set-up exchanges cost bytes: both directions carry more than the adapter alone.
        Assert.True(round.Up.Bytes > 3 * expected.ByteCount && round.Down.Bytes > 3 * expected.ByteCount);

        // Each client's n_k/cap·Δ_k is off by at most c/T; the mean by 3·(c/T)·cap/Σn; FedAdam divides by √v + τ.
        var fp = FixedPoint.ForContributors(8, 3);
        var bound = 3 * fp.Resolution * 8 / 24 * (strategy == "fedadam" ? 0.1 / 1e-3 : 1);
        foreach (var (name, t) in expected)
        {
            var diff = (t - actual[name]).abs().max().item<float>();
            var fp32 = 4 * 1.2e-7 * t.abs().max().item<float>();
            Assert.True(diff <= bound + fp32, $"{name}: |plain − secure| = {diff} > {bound} + {fp32}");
        }
    }

    [Fact]
    public void Secure_aggregation_with_flora_sums_the_dense_products_and_equals_stacking()
    {
        using var dir = new TempDir();
        var plain = Settings(dir.Path, "plain");
        plain.Strategy = "flora";
        var secure = Settings(dir.Path, "secure");
        secure.Strategy = "flora";
        secure.SecureAggregation = true;
        var a = Run(plain);
        var b = Run(secure);
        using var stateA = SafetensorsFile.Load(Path.Combine(a.RunFolder, "rounds", "round-0001", "state.safetensors"));
        using var stateB = SafetensorsFile.Load(Path.Combine(b.RunFolder, "rounds", "round-0001", "state.safetensors"));
        var merged = stateA.Names.Where(n => n.StartsWith("merged/", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(merged);
        var bound = 3 * FixedPoint.ForContributors(8, 3).Resolution * 8 / 24;
        foreach (var name in merged)
        {
            var diff = (stateA[name] - stateB[name]).abs().max().item<float>();
            Assert.True(diff <= bound + 1e-7, $"{name}: {diff}");
            Assert.True(stateA[name].abs().max().item<float>() > 0, "the round merged a change");
        }
    }

    [Fact]
    public void Secure_aggregation_refuses_strategies_and_rules_that_need_individual_updates()
    {
        using var dir = new TempDir();
        foreach (var (strategy, key, value) in new[] { ("hetlora", "", ""), ("flexlora", "", ""), ("fedavg", "robust_aggregator", "median") })
        {
            var s = Settings(dir.Path, strategy);
            s.Strategy = strategy;
            s.SecureAggregation = true;
            if (key == "robust_aggregator") s.RobustAggregator = value;
            var error = Assert.Throws<ConfigException>(() => Run(s));
            Assert.Contains("secure aggregation", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_dp_run_reports_epsilon_every_round_and_stops_before_the_target()
    {
        using var dir = new TempDir();
        var s = Settings(dir.Path, "dp");
        s.Rounds = 6;
        s.Scheduler = "uniform";
        s.Fraction = 0.67;
        s.DpClipNorm = 0.05;
        s.DpNoiseMultiplier = 1.0;
        s.DpTargetEpsilon = 8;
        var result = Run(s);
        var rounds = new RunFolder(result.RunFolder).Rounds().Where(r => r.Round > 0).ToList();
        Assert.InRange(rounds.Count, 1, 5);
        var epsilons = rounds.Select(r => r.Metric("dp/epsilon")!.Value).ToList();
        Assert.True(epsilons.Zip(epsilons.Skip(1)).All(p => p.Second > p.First), string.Join(", ", epsilons));
        Assert.True(epsilons[^1] <= 8);
        Assert.All(rounds, r => Assert.Equal(2.0 / 3, r.Metric("dp/sampling_rate")!.Value, 10));
        Assert.True(File.Exists(Path.Combine(result.RunFolder, "final", "adapter", "adapter_model.safetensors")));
        Assert.True(new RunFolder(result.RunFolder).IsFinished);
        // report.html's rounds table carries ε next to the loss.
        var html = File.ReadAllText(RunReport.Write(result.RunFolder));
        Assert.Contains("ε (DP)", html, StringComparison.Ordinal);
        Assert.Contains(epsilons[^1].ToString("F4", System.Globalization.CultureInfo.InvariantCulture), html, StringComparison.Ordinal);
    }

    [Fact]
    public void Dp_refuses_client_noise_on_lora_factors_and_robust_rules()
    {
        using var dir = new TempDir();
        var flora = Settings(dir.Path, "flora");
        flora.Strategy = "flora";
        flora.DpClipNorm = 0.1;
        flora.DpMode = Confer.Privacy.DifferentialPrivacy.DpMode.Client;
        Assert.Contains("amplified", Assert.Throws<ConfigException>(() => Run(flora)).Message, StringComparison.Ordinal);
        var robust = Settings(dir.Path, "robust");
        robust.DpClipNorm = 0.1;
        robust.RobustAggregator = "krum";
        Assert.Contains("cannot be combined", Assert.Throws<ConfigException>(() => Run(robust)).Message, StringComparison.Ordinal);
    }
}
