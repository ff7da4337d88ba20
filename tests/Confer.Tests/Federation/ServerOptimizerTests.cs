using Confer.Federation;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>algorithms.md §5 oracles: FedProx, FedAvgM, FedAdagrad/FedAdam/FedYogi (paper convention, v_{−1} = τ²).</summary>
public sealed class ServerOptimizerTests
{
    private static readonly (string, long, long)[] Modules = [("q", 6, 5)];

    /// <summary>One round on a 1 × 1 adapter whose global value is 0 and whose only client returns <paramref name="value"/>.</summary>
    private static float ScalarStep(string strategyName, FederationSettings settings, float value)
    {
        using var initial = Adapter(("m", zeros(1, 1), zeros(1, 1)));
        using var strategy = Create(strategyName, initial, settings with { LoraRank = 1, LoraAlpha = 1 });
        strategy.ConfigureTrain(1, ["c0"]);
        strategy.AggregateTrain(1, [Update("c0", Adapter(("m", full(1, 1, value), full(1, 1, value))), 4)]);
        Assert.Equal(strategy.GlobalAdapter[LoraKeys.A("m")].item<float>(), strategy.GlobalAdapter[LoraKeys.B("m")].item<float>());
        return strategy.GlobalAdapter[LoraKeys.B("m")].item<float>();
    }

    [Theory]
    [InlineData("fedadam", 0.0980202)]
    [InlineData("fedyogi", 0.0980200)]
    [InlineData("fedadagrad", 0.0998002)]
    public void Adaptive_first_step_matches_the_scalar_oracle(string name, double expected)
    {
        // Δ = 0.5, η = 0.1, τ = 1e-3, β1 = 0.9 (0 for Adagrad), β2 = 0.99, v_{−1} = τ².
        var step = ScalarStep(name, new FederationSettings { ServerLearningRate = 0.1, ServerTau = 1e-3 }, 0.5f);
        Assert.Equal(expected, step, 1e-7);
    }

    /// <summary>
    /// Two rounds on a 1 × 1 adapter starting at 0: the client returns global + <paramref name="first"/>, then global +
    /// <paramref name="second"/>. Returns the global after each round and the second moment v after round 2.
    /// </summary>
    private static (double X1, double X2, double V2) TwoScalarRounds(string strategyName, float first, float second)
    {
        using var initial = Adapter(("m", zeros(1, 1), zeros(1, 1)));
        using var strategy = Create(strategyName, initial, new FederationSettings { LoraRank = 1, LoraAlpha = 1, ServerLearningRate = 0.1, ServerTau = 1e-3 });
        var x = new double[2];
        foreach (var (round, delta) in new[] { (1, first), (2, second) })
        {
            var value = strategy.GlobalAdapter[LoraKeys.B("m")].item<float>() + delta;
            strategy.ConfigureTrain(round, ["c0"]);
            strategy.AggregateTrain(round, [Update("c0", Adapter(("m", full(1, 1, value), full(1, 1, value))), 4)]);
            x[round - 1] = strategy.GlobalAdapter[LoraKeys.B("m")].item<float>();
        }
        using var state = strategy.ExportState();
        return (x[0], x[1], state[$"{strategyName}/v/{LoraKeys.B("m")}"].item<float>());
    }

    [Fact]
    public void FedYogi_second_round_takes_the_other_sign_branch()
    {
        // η = 0.1, τ = 1e-3, β1 = 0.9, β2 = 0.99, v₋₁ = τ² = 1e-6.
        // Round 1, Δ = 0.5: v₋₁ < Δ², so v grows: v₁ = 1e-6 + 0.01·0.25 = 0.002501; m₁ = 0.05; x₁ = 0.1·0.05/(√v₁ + τ) = 0.0980200.
        // Round 2, Δ = 0.01: v₁ > Δ² = 1e-4, so v shrinks: v₂ = 0.002501 − 0.01·1e-4 = 0.0025 (√ = 0.05);
        // m₂ = 0.9·0.05 + 0.1·0.01 = 0.046; x₂ = x₁ + 0.1·0.046/(0.05 + 0.001) = 0.0980200 + 0.0901961 = 0.1882161.
        // Adam's rule would give v₂ = 0.99·0.002501 + 0.01·1e-4 = 0.00247698 instead.
        var (x1, x2, v2) = TwoScalarRounds("fedyogi", 0.5f, 0.01f);
        Assert.Equal(0.0980200, x1, 1e-6);
        Assert.Equal(0.0025, v2, 1e-8);
        Assert.Equal(0.1882161, x2, 1e-6);
    }

    [Fact]
    public void FedAdam_second_round_decays_both_moments()
    {
        // Round 1, Δ = 0.5: m₁ = 0.05, v₁ = 0.99·1e-6 + 0.01·0.25 = 0.00250099, x₁ = 0.1·0.05/(√v₁ + 1e-3) = 0.0980202.
        // Round 2, Δ = 0.01: m₂ = 0.046, v₂ = 0.99·0.00250099 + 0.01·1e-4 = 0.0024769801 (√ = 0.0497693),
        // x₂ = x₁ + 0.1·0.046/(0.0497693 + 0.001) = 0.0980202 + 0.0906060 = 0.1886262.
        var (x1, x2, v2) = TwoScalarRounds("fedadam", 0.5f, 0.01f);
        Assert.Equal(0.0980202, x1, 1e-6);
        Assert.Equal(0.0024769801, v2, 1e-8);
        Assert.Equal(0.1886262, x2, 1e-6);
    }

    [Fact]
    public void FedAvgM_with_no_momentum_and_unit_rate_is_FedAvg()
    {
        using var g = new Generator(51);
        var settings = new FederationSettings { ClientIds = ClientIds(3), LoraRank = 4, LoraAlpha = 8 };
        using var initial = RandomAdapter(g, 4, Modules);
        using var fedavg = Create("fedavg", initial, settings);
        using var fedavgm = Create("fedavgm", initial, settings with { ServerMomentum = 0, ServerLearningRate = 1 });
        var updates = ClientIds(3).Select((id, k) => Update(id, RandomAdapter(g, 4, Modules), 10 + k)).ToList();
        foreach (var s in new[] { fedavg, fedavgm })
        {
            s.ConfigureTrain(1, ClientIds(3));
            s.AggregateTrain(1, updates);
        }
        foreach (var name in fedavg.GlobalAdapter.Names) Assert.True(MaxAbsDiff(fedavg.GlobalAdapter[name], fedavgm.GlobalAdapter[name]) < 1e-6);
    }

    [Fact]
    public void FedAvgM_accumulates_velocity_across_rounds()
    {
        // x0 = 0; round 1 average 1: g = −1, v = −1, x = 1; round 2 average 1.5: g = −0.5, v = 0.9·(−1) − 0.5 = −1.4, x = 2.4.
        using var initial = Adapter(("m", zeros(1, 1), zeros(1, 1)));
        using var strategy = Create("fedavgm", initial, new FederationSettings { LoraRank = 1, LoraAlpha = 1, ServerMomentum = 0.9 });
        foreach (var (round, value) in new[] { (1, 1f), (2, 1.5f) })
        {
            strategy.ConfigureTrain(round, ["c0"]);
            strategy.AggregateTrain(round, [Update("c0", Adapter(("m", full(1, 1, value), full(1, 1, value))), 1)]);
        }
        Assert.Equal(2.4, strategy.GlobalAdapter[LoraKeys.B("m")].item<float>(), 1e-6);
    }

    [Fact]
    public void FedProx_carries_mu_in_every_task_and_aggregates_like_FedAvg()
    {
        using var g = new Generator(52);
        var settings = new FederationSettings { ClientIds = ClientIds(2), LoraRank = 4, LoraAlpha = 8 };
        using var initial = RandomAdapter(g, 4, Modules);
        using var byDefault = Create("fedprox", initial, settings);
        Assert.All(byDefault.ConfigureTrain(1, ClientIds(2)), t => Assert.Equal(0.01, t.ProximalMu));

        using var fedprox = Create("fedprox", initial, settings with { ProximalMu = 0.1 });
        using var fedavg = Create("fedavg", initial, settings);
        Assert.All(fedprox.ConfigureTrain(1, ClientIds(2)), t => Assert.Equal(0.1, t.ProximalMu));
        Assert.All(fedavg.ConfigureTrain(1, ClientIds(2)), t => Assert.Equal(0.0, t.ProximalMu));
        var updates = ClientIds(2).Select((id, k) => Update(id, RandomAdapter(g, 4, Modules), 3 + k)).ToList();
        fedprox.AggregateTrain(1, updates);
        fedavg.AggregateTrain(1, updates);
        AssertBitwiseEqual(fedavg.GlobalAdapter, fedprox.GlobalAdapter);
    }

    [Theory]
    [InlineData("fedavg", "ServerLearningRate")]
    [InlineData("flora", "ProximalMu")]
    [InlineData("fedadagrad", "ServerBeta2")]
    [InlineData("fedadam", "ServerMomentum")]
    public void Options_a_strategy_does_not_use_are_rejected(string name, string option)
    {
        var settings = option switch
        {
            "ServerLearningRate" => new FederationSettings { ServerLearningRate = 0.5 },
            "ProximalMu" => new FederationSettings { ProximalMu = 0.1 },
            "ServerBeta2" => new FederationSettings { ServerBeta2 = 0.9 },
            _ => new FederationSettings { ServerMomentum = 0.9 },
        };
        using var g = new Generator(53);
        using var initial = RandomAdapter(g, 16, Modules);
        var error = Assert.Throws<ArgumentException>(() => Create(name, initial, settings));
        Assert.Contains(option, error.Message);
    }
}
