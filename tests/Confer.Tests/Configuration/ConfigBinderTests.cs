using Confer.Configuration;

namespace Confer.Tests.Configuration;

public class ConfigBinderTests
{
    private sealed class Settings
    {
        [ConfigKey("rounds", "rounds to run")] public int Rounds { get; set; } = 3;
        [ConfigKey("lr", "learning rate")] public double Lr { get; set; } = 1e-3;
        [ConfigKey("ranks", "per-client ranks")] public int[] Ranks { get; set; } = [8];
        [ConfigKey("name", "run name")] public string Name { get; set; } = "x";
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
}
