using Confer.Configuration;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;

namespace Confer.Federation.Experiments;

/// <summary>
/// <c>confer experiment comm</c>: one task run under every cell of a grid (uplink codec × downlink codec × LoRA rank
/// by default), each cell a simulation in its own run folder under <c>&lt;output&gt;/&lt;name&gt;/cells/</c>, then a
/// table and a plot of the bytes each cell moved against its final global test loss, next to the reference: fp32
/// LoRA FedIT (identity both ways at the base rank), which always runs. A rerun skips finished cells and resumes an
/// interrupted one, so the experiment survives being stopped; a cell whose stored config differs from what the
/// command would run now is refused rather than mixed.
/// </summary>
public sealed class CommExperiment
{
    public const string UplinkKey = "uplink_codec";
    public const string DownlinkKey = "downlink_codec";
    public const string RankKey = "lora_r";

    private readonly string? _configPath;
    private readonly IReadOnlyList<string> _overrides;

    /// <param name="configPath">The base experiment YAML (null: the built-in Dolly/FedIT job).</param>
    /// <param name="overrides">Key overrides of the base experiment (<c>--set</c>); cells add their own after these.</param>
    /// <param name="grid">The axes; the reference cell is added when the grid lacks it.</param>
    /// <param name="name">The experiment's folder name under the base experiment's <c>output</c>.</param>
    public CommExperiment(string? configPath, IReadOnlyList<string> overrides, ExperimentGrid grid, string name)
    {
        _configPath = configPath;
        // Baselines answer another question and would cost a run's worth of training per cell; a --set can bring them back.
        _overrides = ["baselines=[]", .. overrides];
        var base_ = Bind([]);
        base_.Validate();
        Folder = Path.GetFullPath(Path.Combine(base_.Output, name));
        Grid = grid;
        var reference = grid.Cell(grid.Axes.ToDictionary(a => a.Key, a => a.Key is UplinkKey or DownlinkKey ? "identity" : BaseValue(base_, a.Key), StringComparer.Ordinal));
        Reference = reference;
        Cells = grid.Cells.Any(c => c.SameAs(reference)) ? [.. grid.Cells.OrderBy(c => c.SameAs(reference) ? 0 : 1)] : [reference, .. grid.Cells];
    }

    public string Folder { get; }

    public ExperimentGrid Grid { get; }

    /// <summary>fp32 LoRA FedIT at the base rank: what every other cell is compared with.</summary>
    public GridCell Reference { get; }

    /// <summary>The cells in the order they run: the reference first.</summary>
    public IReadOnlyList<GridCell> Cells { get; }

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

    /// <summary>Runs (or resumes, or skips when finished) one cell and returns its row; <paramref name="ct"/> stops it after the current step, its finished rounds kept.</summary>
    public CommRow Run(GridCell cell, IRoundProgress progress, CancellationToken ct = default)
    {
        var settings = Settings(cell);
        var folder = CellFolder(cell);
        var run = new RunFolder(folder);
        if (run.HoldsRun) CheckSameConfig(cell, settings, run);
        if (!run.IsFinished) SimulationEngine.Run(settings, folder, resume: run.HoldsRun, progress, ct);
        return Row(cell);
    }

    /// <summary>The row of a finished cell, from its run folder.</summary>
    public CommRow Row(GridCell cell)
    {
        var folder = CellFolder(cell);
        var rounds = new RunFolder(folder).Rounds().Where(r => r.Round > 0).ToList();
        var info = RunInfo.Read(folder);
        var final = RunMetrics.Read(folder).FinalRound?.GlobalLoss;
        return new CommRow(cell, cell.SameAs(Reference), folder, final, rounds.Count,
            rounds.Sum(r => r.Up.Bytes), rounds.Sum(r => r.Down.Bytes), rounds.Sum(r => r.Up.RawBytes), rounds.Sum(r => r.Down.RawBytes),
            info.WallTime?.TotalSeconds ?? rounds.Sum(r => r.Seconds));
    }

    private SimulationSettings Bind(IEnumerable<string> cellOverrides) => ConfigBinder.Bind<SimulationSettings>(_configPath, [.. _overrides, .. cellOverrides]);

    private static string BaseValue(SimulationSettings s, string key) =>
        ConfigBinder.Describe(s).FirstOrDefault(d => d.Key == key) is { Key: not null } d
            ? d.Value
            : throw new ConfigException($"grid: '{key}' is not an experiment key.");

    private static void CheckSameConfig(GridCell cell, SimulationSettings settings, RunFolder run)
    {
        var stored = File.ReadAllText(run.ConfigFile);
        var now = ConfigBinder.ToYaml(settings);
        if (stored == now) return;
        var differs = stored.Split('\n').Except(now.Split('\n')).Select(l => l.Split(':')[0]).Where(k => k.Length > 0).ToList();
        throw new ConfigException($"cell {cell}: {run.Folder} holds a run with other settings (differs in: {string.Join(", ", differs)}); " +
                                  "use the same --config/--set as before, or another --name.");
    }
}

/// <summary>What one cell cost and achieved: bytes over all rounds (encoded, and fp32 before the codecs) and the final global test loss.</summary>
public sealed record CommRow(GridCell Cell, bool IsReference, string RunFolder, double? FinalLoss, int Rounds,
    long UpBytes, long DownBytes, long RawUpBytes, long RawDownBytes, double Seconds)
{
    public long TotalBytes => UpBytes + DownBytes;
}
