using Confer.Configuration;

namespace Confer.Federation.Simulation;

/// <summary>
/// What <c>--resume</c> may change about a run: nothing that would make its rounds a mix of two experiments. Only
/// <c>rounds</c> may grow, which extends the run; any other difference is refused by name rather than silently
/// ignored. <c>name</c> and <c>output</c> only say where a new run would go, so they never count as a change.
/// </summary>
public static class ResumeRules
{
    private static readonly HashSet<string> Placement = new(StringComparer.Ordinal) { "name", "output" };

    /// <summary>The settings to continue with and the changes applied (e.g. <c>rounds: 5 → 8</c>).</summary>
    /// <param name="stored">The run's own settings (its config.yaml).</param>
    /// <param name="requested">The settings the resume command asked for (config.yaml plus --set, or another --config).</param>
    /// <param name="completedRounds">Rounds already committed.</param>
    public static (SimulationSettings Settings, IReadOnlyList<string> Applied) Reconcile(SimulationSettings stored, SimulationSettings requested, int completedRounds)
    {
        var before = Values(stored);
        var after = Values(requested);
        var changed = before.Keys.Where(k => !Placement.Contains(k) && before[k] != after[k]).Order(StringComparer.Ordinal).ToList();
        var refused = changed.Where(k => k != "rounds").ToList();
        if (refused.Count > 0)
            throw new ConfigException(
                $"--resume: this run was made with {string.Join(", ", refused.Select(k => $"{k}: {Show(before[k])}"))}; continuing with " +
                $"{string.Join(", ", refused.Select(k => $"{k}: {Show(after[k])}"))} would mix two experiments. Drop those --set/--config values, " +
                "or start a new run with them (only rounds may change on resume, to extend the run).");
        if (!changed.Contains("rounds")) return (stored, []);
        if (requested.Rounds <= completedRounds)
            throw new ConfigException($"--resume: rounds {requested.Rounds} would end the run before rounds it has already completed ({completedRounds}); rounds may only grow.");
        var extended = ConfigBinder.BindText<SimulationSettings>(ConfigBinder.ToYaml(stored), "the run's config.yaml");
        extended.Rounds = requested.Rounds;
        return (extended, [$"rounds: {stored.Rounds} → {requested.Rounds}"]);
    }

    private static Dictionary<string, string> Values(SimulationSettings s) =>
        ConfigBinder.Describe(s).ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal);

    private static string Show(string value) => value.Length == 0 ? "unset" : value;
}
