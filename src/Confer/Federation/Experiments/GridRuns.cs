using Confer.Configuration;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;

namespace Confer.Federation.Experiments;

/// <summary>
/// The run folders of an experiment grid: each cell is a simulation of the base experiment (a YAML plus
/// <c>--set</c> overrides) with the cell's values applied, in <c>&lt;output&gt;/&lt;name&gt;/cells/&lt;cell&gt;</c>.
/// Running a cell resumes an interrupted run and skips a finished one, so a whole grid survives being stopped; a cell
/// whose stored config differs from what the command would run now is refused rather than mixed. Baselines are off
/// (they answer another question and would cost a run's worth of training per cell); a <c>--set</c> can bring them back.
/// </summary>
public sealed class GridRuns
{
    private readonly string? _configPath;
    private readonly IReadOnlyList<string> _overrides;

    /// <param name="configPath">The base experiment YAML (null: the built-in Dolly/FedIT job).</param>
    /// <param name="overrides">Key overrides of the base experiment (<c>--set</c>); cells add their own after these.</param>
    /// <param name="name">The experiment's folder name under the base experiment's <c>output</c>.</param>
    public GridRuns(string? configPath, IReadOnlyList<string> overrides, string name)
    {
        _configPath = configPath;
        _overrides = ["baselines=[]", .. overrides];
        Base = Bind([]);
        Base.Validate();
        Folder = Path.GetFullPath(Path.Combine(Base.Output, name));
    }

    /// <summary>The base experiment, before any cell's values.</summary>
    public SimulationSettings Base { get; }

    public string Folder { get; }

    public string CellFolder(GridCell cell) => Path.Combine(Folder, "cells", cell.FolderName);

    /// <summary>The settings of one cell: the base experiment, the overrides, the cell's values, and its run folder.</summary>
    public SimulationSettings Settings(GridCell cell)
    {
        var s = Bind(cell.Overrides);
        s.Output = Path.Combine(Folder, "cells");
        s.Name = cell.FolderName;
        s.Validate();
        return s;
    }

    /// <summary>What the cell's folder holds: nothing yet, an interrupted run (and its last committed round), or a finished one.</summary>
    public (bool Started, bool Finished, int LastRound) State(GridCell cell)
    {
        var run = new RunFolder(CellFolder(cell));
        return (run.HoldsRun, run.HoldsRun && run.IsFinished, run.HoldsRun ? run.LastCompletedRound() : 0);
    }

    /// <summary>Runs, resumes, or (when finished) skips one cell; returns its run folder.</summary>
    public string Run(GridCell cell, IRoundProgress progress, CancellationToken ct = default)
    {
        var settings = Settings(cell);
        var folder = CellFolder(cell);
        var run = new RunFolder(folder);
        if (run.HoldsRun) CheckSameConfig(cell, settings, run);
        if (!run.IsFinished) SimulationEngine.Run(settings, folder, resume: run.HoldsRun, progress, ct);
        return folder;
    }

    /// <summary>The value <paramref name="key"/> has in the base experiment, as YAML would write it.</summary>
    public string BaseValue(string key) =>
        ConfigBinder.Describe(Base).FirstOrDefault(d => d.Key == key) is { Key: not null } d
            ? d.Value
            : throw new ConfigException($"grid: '{key}' is not an experiment key.");

    private SimulationSettings Bind(IEnumerable<string> cellOverrides) => ConfigBinder.Bind<SimulationSettings>(_configPath, [.. _overrides, .. cellOverrides]);

    private static void CheckSameConfig(GridCell cell, SimulationSettings settings, RunFolder run)
    {
        // Values, not text: a grid resumed after an upgrade that only added keys at their defaults continues its cells.
        var differs = ConfigBinder.ChangedKeys(File.ReadAllText(run.ConfigFile), settings, run.ConfigFile);
        if (differs.Count == 0) return;
        throw new ConfigException($"cell {cell}: {run.Folder} holds a run with other settings (differs in: {string.Join(", ", differs)}); " +
                                  "use the same --config/--set as before, or another --name.");
    }
}
