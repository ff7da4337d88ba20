using Confer.Configuration;
using Confer.Federation.Simulation;

namespace Confer.Tests.Federation.Simulation;

/// <summary>A resumed run keeps its settings: only rounds may grow; anything else is refused by name, never ignored.</summary>
public class ResumeRulesTests
{
    [Fact]
    public void Unchanged_settings_and_a_new_name_or_output_continue_as_they_are()
    {
        var stored = new SimulationSettings { Rounds = 5 };
        var (settings, applied) = ResumeRules.Reconcile(stored, new SimulationSettings { Rounds = 5, Name = "other", Output = "/elsewhere" }, 3);
        Assert.Same(stored, settings);
        Assert.Empty(applied);
    }

    [Fact]
    public void More_rounds_extend_the_run()
    {
        var (settings, applied) = ResumeRules.Reconcile(new SimulationSettings { Rounds = 5 }, new SimulationSettings { Rounds = 8 }, 5);
        Assert.Equal(8, settings.Rounds);
        Assert.Equal(["rounds: 5 → 8"], applied);
        var fewer = Assert.Throws<ConfigException>(() => ResumeRules.Reconcile(new SimulationSettings { Rounds = 5 }, new SimulationSettings { Rounds = 3 }, 4));
        Assert.Contains("rounds 3 would end the run before rounds it has already completed (4)", fewer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_other_change_is_refused_with_old_and_new_values()
    {
        var e = Assert.Throws<ConfigException>(() =>
            ResumeRules.Reconcile(new SimulationSettings(), new SimulationSettings { LearningRate = 0.01, Strategy = "fedprox" }, 2));
        Assert.Contains("this run was made with lr: 0.002, strategy: fedavg", e.Message, StringComparison.Ordinal);
        Assert.Contains("continuing with lr: 0.01, strategy: fedprox would mix two experiments", e.Message, StringComparison.Ordinal);
    }
}
