using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Reasoning.FedCot;

namespace Confer.Tests.Configuration;

public class ConfigBinderTests
{
    private sealed class Settings
    {
        [ConfigKey("rounds", "rounds to run")] public int Rounds { get; set; } = 3;
        [ConfigKey("lr", "learning rate")] public double Lr { get; set; } = 1e-3;
        [ConfigKey("ranks", "per-client ranks")] public int[] Ranks { get; set; } = [8];
        [ConfigKey("name", "run name")] public string Name { get; set; } = "x";
        [ConfigKey("momentum", "optional momentum")] public double? Momentum { get; set; }
        [ConfigKey("schedule", "lr schedule")] public Confer.Training.LearningRateSchedule Schedule { get; set; }
    }

    private static string Yaml(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"confer-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void YamlThenOverridesBindWithTypes()
    {
        var s = ConfigBinder.Bind<Settings>(Yaml("rounds: 7\nlr: 0.5\nranks: [4, 32, 16]\n"), ["rounds=20", "name=fedit"]);
        Assert.Equal(20, s.Rounds);
        Assert.Equal(0.5, s.Lr);
        Assert.Equal([4, 32, 16], s.Ranks);
        Assert.Equal("fedit", s.Name);
        var again = ConfigBinder.Bind<Settings>(Yaml(ConfigBinder.ToYaml(s)), []);
        Assert.Equal(s.Ranks, again.Ranks);
        Assert.Equal(20, again.Rounds);
    }

    [Fact]
    public void NullableKeysAreUnsetByEmptyValuesAndZeroStaysZero()
    {
        Assert.Null(ConfigBinder.Bind<Settings>(null, []).Momentum);
        Assert.Equal(0.0, ConfigBinder.Bind<Settings>(null, ["momentum=0"]).Momentum);
        Assert.Null(ConfigBinder.Bind<Settings>(null, ["momentum=0.5", "momentum="]).Momentum);
        var described = ConfigBinder.Describe(new Settings()).Single(d => d.Key == "momentum");
        Assert.Equal(("number or empty (unset)", ""), (described.Type, described.Value));
        Assert.Null(ConfigBinder.Bind<Settings>(Yaml(ConfigBinder.ToYaml(new Settings())), []).Momentum);
        Assert.Contains("number or empty", Assert.Throws<ConfigException>(() => ConfigBinder.Bind<Settings>(null, ["momentum=high"])).Message);
    }

    [Fact]
    public void EnumKeysTakeMemberNamesInAnyCaseAndNothingElse()
    {
        Assert.Equal(Confer.Training.LearningRateSchedule.Cosine, ConfigBinder.Bind<Settings>(null, ["schedule=COSINE"]).Schedule);
        Assert.Contains("schedule: 'linear'", ConfigBinder.ToYaml(new Settings { Schedule = Confer.Training.LearningRateSchedule.Linear }));
        foreach (var bad in new[] { "schedule=1", "schedule=cosin" })
            Assert.Contains("one of constant, linear, cosine", Assert.Throws<ConfigException>(() => ConfigBinder.Bind<Settings>(null, [bad])).Message);
    }

    [Fact]
    public void UnknownKeyNamesItAndTheValidOnes()
    {
        var path = Yaml("round: 7\n");
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.Bind<Settings>(path, []));
        Assert.Contains("'round'", e.Message);
        Assert.Contains("rounds", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void BadValueNamesKeyAndType()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.Bind<Settings>(null, ["rounds=many"]));
        Assert.Contains("'rounds'", e.Message);
        Assert.Contains("integer", e.Message);
        Assert.Throws<ConfigException>(() => ConfigBinder.Bind<Settings>(null, ["rounds"]));
    }

    [Fact]
    public void OneFileBindsTwoSettingsClassesAndRejectsKeysOfNeither()
    {
        var path = Yaml("rounds: 7\nstate: /srv/fl\nheartbeat_s: 2.5\n");
        var (run, server) = ConfigBinder.Bind<Confer.Federation.Simulation.SimulationSettings, Confer.Federation.Deployment.ServerSettings>(path, ["min_returned=2"]);
        Assert.Equal(7, run.Rounds);
        Assert.Equal("/srv/fl", server.State);
        Assert.Equal(2.5, server.HeartbeatSeconds);
        Assert.Equal(2, server.MinReturned);

        var bad = Yaml("rounds: 7\nheartbeat: 2\n");
        var e = Assert.Throws<ConfigException>(() =>
            ConfigBinder.Bind<Confer.Federation.Simulation.SimulationSettings, Confer.Federation.Deployment.ServerSettings>(bad, []));
        Assert.Contains("'heartbeat'", e.Message);
        Assert.Contains("heartbeat_s", e.Message);
        Assert.Contains("rounds", e.Message);
    }

    [Fact]
    public void A_received_config_with_keys_of_a_newer_version_says_so()
    {
        var run = ConfigBinder.BindReceived<Confer.Federation.Simulation.SimulationSettings>("rounds: 3\n", "the server's run config");
        Assert.Equal(3, run.Rounds);
        var e = Assert.Throws<ConfigException>(() =>
            ConfigBinder.BindReceived<Confer.Federation.Simulation.SimulationSettings>("rounds: 3\nfuture_key: 1\nother_new: x\n", "the server's run config"));
        Assert.StartsWith("the server's run config has key(s) this Confer does not know (future_key, other_new): it comes from a newer version", e.Message);
    }

    [Fact]
    public void A_commands_own_defaults_yield_to_the_file_and_to_overrides()
    {
        string[] defaults = ["model=enc", "cache=/default-cache"];
        var (fromDefault, site) = ConfigBinder.Bind<ClientSettings, FedCotSiteSettings>(null, [], defaults);
        Assert.Equal("enc", fromDefault.Model);
        Assert.Equal("/default-cache", site.Cache);
        var (fromFile, overridden) = ConfigBinder.Bind<ClientSettings, FedCotSiteSettings>(Yaml("model: file-model\n"), ["cache=/set"], defaults);
        Assert.Equal("file-model", fromFile.Model);
        Assert.Equal("/set", overridden.Cache);
    }

    [Fact]
    public void YamlTextFromElsewhereBindsLikeAFile()
    {
        var run = new Confer.Federation.Simulation.SimulationSettings { Rounds = 9, LearningRate = 3e-4, LoraTargets = ["q_proj", "v_proj"] };
        var back = ConfigBinder.BindText<Confer.Federation.Simulation.SimulationSettings>(ConfigBinder.ToYaml(run), "the server's run config");
        Assert.Equal(ConfigBinder.ToYaml(run), ConfigBinder.ToYaml(back));
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.BindText<Settings>("nope: 1\n", "the server's run config"));
        Assert.Contains("the server's run config", e.Message);
    }

    /// <summary>
    /// A stored run config is compared by value with the current settings: a file from an older version (a key missing,
    /// help reworded) matches the current defaults; a changed value or a new key set away from its default differs; a
    /// key this version no longer has is named.
    /// </summary>
    [Fact]
    public void ChangedKeysComparesValuesSoAnOlderFileWithoutANewKeyStillMatches()
    {
        var current = new Settings { Rounds = 5 };
        var older = string.Join('\n', ConfigBinder.ToYaml(current).Split('\n').Where(l => !l.StartsWith("momentum:", StringComparison.Ordinal)))
            .Replace("# rounds to run", "# how many rounds", StringComparison.Ordinal);
        Assert.Empty(ConfigBinder.ChangedKeys(older, current, "stored"));
        Assert.Equal(["momentum", "rounds"], ConfigBinder.ChangedKeys(older, new Settings { Rounds = 6, Momentum = 0.9 }, "stored"));
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.ChangedKeys(older + "warmup: 3\n", current, "state 'x'"));
        Assert.Contains("state 'x': unknown key 'warmup'", e.Message);

        Assert.Empty(ConfigBinder.ChangedKeys("a: 1  # one\nb: x\n", "b: x  # bee\na: 1\n", "stored"));
        Assert.Equal(["a", "c"], ConfigBinder.ChangedKeys("a: 1\nb: x\n", "a: 2\nb: x\nc: 0\n", "stored"));
        Assert.Equal(["a"], ConfigBinder.ChangedKeys("", "a: 1\n", "stored"));
        Assert.Empty(ConfigBinder.ChangedKeys("", "", "stored"));
    }
}
