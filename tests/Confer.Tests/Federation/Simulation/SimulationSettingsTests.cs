using Confer.Configuration;
using Confer.Federation;
using Confer.Federation.Clients;
using Confer.Federation.Simulation;
using Confer.Peft;
using Confer.Training;
using static Confer.Tests.Federation.FedTestKit;

namespace Confer.Tests.Federation.Simulation;

/// <summary>Experiment keys reach the strategy as written: unset means the strategy's default, 0 means 0.</summary>
public sealed class SimulationSettingsTests
{
    private static readonly string[] Ids = ["c0", "c1"];

    private static SimulationSettings Bind(string yaml) => ConfigBinder.BindText<SimulationSettings>(yaml, "test config");

    /// <summary>The strategy <c>confer simulate</c> would build from <paramref name="yaml"/>, on a tiny model.</summary>
    private static Strategy CreateStrategy(string yaml)
    {
        var settings = Bind("lora_r: 2\nlora_alpha: 4\n" + yaml);
        using var model = TinyModels.Llama();
        using var clientModel = new ClientModel(model, settings.LoraTargets);
        return StrategySetup.Create(settings, clientModel, Ids);
    }

    /// <summary>Runs rounds in which every client returns the global adapter plus <paramref name="offset"/>; returns how much one B element moved in each round.</summary>
    private static double[] MovesPerRound(Strategy strategy, int rounds, float offset)
    {
        var key = strategy.GlobalAdapter.Names.First(LoraKeys.IsB);
        var moves = new double[rounds];
        for (var round = 1; round <= rounds; round++)
        {
            var before = strategy.GlobalAdapter[key][0, 0].item<float>();
            var tasks = strategy.ConfigureTrain(round, Ids);
            foreach (var t in tasks) t.Adapter![key].add_(offset);
            strategy.AggregateTrain(round, tasks.Select(t => Update(t.ClientId, t.Adapter!, 5)).ToList());
            moves[round - 1] = strategy.GlobalAdapter[key][0, 0].item<float>() - before;
        }
        return moves;
    }

    [Theory]
    [InlineData("", 0.01)]
    [InlineData("proximal_mu: 0\n", 0.0)]
    [InlineData("proximal_mu: 0.1\n", 0.1)]
    public void Proximal_mu_zero_is_FedAvg_and_unset_is_the_default(string yaml, double expected)
    {
        using var strategy = CreateStrategy("strategy: fedprox\n" + yaml);
        Assert.All(strategy.ConfigureTrain(1, Ids), t => Assert.Equal(expected, t.ProximalMu));
    }

    [Fact]
    public void Server_momentum_zero_means_no_momentum()
    {
        // Clients move B by 0.01 every round. With β = 0 (and η = 1) the global moves 0.01 each round; the default
        // β = 0.9 would make round 2 move 0.01 + 0.9·0.01 = 0.019.
        using var none = CreateStrategy("strategy: fedavgm\nserver_momentum: 0\n");
        Assert.All(MovesPerRound(none, 2, 0.01f), move => Assert.Equal(0.01, move, 1e-6));
        using var byDefault = CreateStrategy("strategy: fedavgm\n");
        Assert.Equal(0.019, MovesPerRound(byDefault, 2, 0.01f)[1], 1e-6);
    }

    [Fact]
    public void Server_beta1_reaches_the_adaptive_optimiser()
    {
        // One FedAdam step is η·m/(√v + τ) with m = (1 − β1)·Δ: β1 = 0 moves 10× as far as the default β1 = 0.9.
        using var beta0 = CreateStrategy("strategy: fedadam\nserver_beta1: 0\nserver_beta2: 0.5\nserver_tau: 0.01\n");
        using var byDefault = CreateStrategy("strategy: fedadam\nserver_beta2: 0.5\nserver_tau: 0.01\n");
        Assert.Equal(10, MovesPerRound(beta0, 1, 0.01f)[0] / MovesPerRound(byDefault, 1, 0.01f)[0], 1e-4);
    }

    [Theory]
    [InlineData("strategy: fedavg\nserver_beta2: 0.9\n", "ServerBeta2")]
    [InlineData("strategy: fedavg\nserver_momentum: 0\n", "ServerMomentum")]
    [InlineData("strategy: fedadagrad\nserver_beta2: 0.9\n", "ServerBeta2")]
    public void A_server_key_the_strategy_does_not_use_is_an_error_even_at_zero(string yaml, string option)
    {
        var error = Assert.Throws<ConfigException>(() => CreateStrategy(yaml));
        Assert.Contains(option, error.Message);
    }

    [Fact]
    public void Unset_and_zero_survive_the_resolved_config()
    {
        var settings = Bind("strategy: fedavgm\nserver_momentum: 0\nschedule: Cosine\n");
        var again = Bind(ConfigBinder.ToYaml(settings));
        Assert.Equal((0.0, null, LearningRateSchedule.Cosine), (again.ServerMomentum, again.ServerLearningRate, again.Schedule));
        Assert.Null(Bind("server_lr: null\nserver_tau: ~\nproximal_mu:\n").ProximalMu);
    }

    [Theory]
    [InlineData("schedule: cosin\n")]
    [InlineData("schedule: 2\n")]
    public void Schedule_accepts_only_its_names(string yaml)
    {
        var error = Assert.Throws<ConfigException>(() => Bind(yaml));
        Assert.Contains("'schedule'", error.Message);
        Assert.Contains("constant, linear, cosine", error.Message);
    }

    [Fact]
    public void Packing_and_activation_checkpointing_are_off_by_default_and_reach_the_trainer()
    {
        var defaults = Bind("").ToTrainerOptions(0);
        Assert.False(defaults.Packing);
        Assert.False(defaults.ActivationCheckpointing);
        var on = Bind("packing: true\nactivation_checkpointing: true\n").ToTrainerOptions(0);
        Assert.True(on.Packing);
        Assert.True(on.ActivationCheckpointing);
    }

    [Fact]
    public void Packing_refuses_prompt_tuning()
    {
        var settings = Bind("packing: true\npeft_method: prompt\n");
        var error = Assert.Throws<ConfigException>(settings.Validate);
        Assert.Contains("packing", error.Message);
    }
}
