using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;

namespace Confer.Federation.Experiments;

/// <summary>
/// <c>confer experiment comm</c>: one task run under every cell of a grid (uplink codec × downlink codec × LoRA rank
/// by default, optionally × PEFT method), each cell a simulation in its own run folder under
/// <c>&lt;output&gt;/&lt;name&gt;/cells/</c>, then a table and a plot of the bytes each cell moved against its final
/// global test loss, next to the reference: fp32 LoRA FedIT (identity both ways, LoRA at the base rank), which always
/// runs. The rank is LoRA's, so a soft prompt or adapter runs at the first rank value only (its other cells would
/// repeat it). The cells' run folders, resuming and skipping are handled by <see cref="GridRuns"/>.
/// </summary>
public sealed class CommExperiment : IGridExperiment<CommRow>
{
    public const string UplinkKey = "uplink_codec";
    public const string DownlinkKey = "downlink_codec";
    public const string RankKey = "lora_r";
    public const string PeftKey = "peft_method";

    private readonly GridRuns _runs;

    /// <param name="configPath">The base experiment YAML (null: the built-in Dolly/FedIT job).</param>
    /// <param name="overrides">Key overrides of the base experiment (<c>--set</c>); cells add their own after these.</param>
    /// <param name="grid">The axes; the reference cell is added when the grid lacks it.</param>
    /// <param name="name">The experiment's folder name under the base experiment's <c>output</c>.</param>
    public CommExperiment(string? configPath, IReadOnlyList<string> overrides, ExperimentGrid grid, string name)
    {
        _runs = new GridRuns(configPath, overrides, name);
        Grid = grid;
        var reference = grid.Cell(grid.Axes.ToDictionary(a => a.Key, a => a.Key switch
        {
            UplinkKey or DownlinkKey => "identity",
            PeftKey => "lora",
            _ => _runs.BaseValue(a.Key),
        }, StringComparer.Ordinal));
        Reference = reference;
        // The rank is LoRA's: a soft prompt or an adapter at any rank but the first would repeat its first-rank cell.
        var comparesMethods = grid.Axes.Any(a => a.Key == PeftKey);
        var firstRank = grid.Axes.FirstOrDefault(a => a.Key == RankKey)?.Values[0];
        bool Repeats(GridCell c) => comparesMethods && firstRank is not null && c[PeftKey] != "lora" && c[RankKey] != firstRank;
        var cells = grid.Cells.Where(c => !Repeats(c)).ToList();
        Cells = cells.Any(c => c.SameAs(reference)) ? [.. cells.OrderBy(c => c.SameAs(reference) ? 0 : 1)] : [reference, .. cells];
    }

    public string Folder => _runs.Folder;

    public ExperimentGrid Grid { get; }

    /// <summary>fp32 LoRA FedIT at the base rank: what every other cell is compared with.</summary>
    public GridCell Reference { get; }

    /// <summary>The cells in the order they run: the reference first.</summary>
    public IReadOnlyList<GridCell> Cells { get; }

    public string CellFolder(GridCell cell) => _runs.CellFolder(cell);

    /// <summary>The settings of one cell: the base experiment, the overrides, the cell's values, and its run folder.</summary>
    public SimulationSettings Settings(GridCell cell) => _runs.Settings(cell);

    public int Rounds(GridCell cell) => _runs.Settings(cell).Rounds;

    /// <summary>What the cell's folder holds: nothing yet, an interrupted run (and its last committed round), or a finished one.</summary>
    public (bool Started, bool Finished, int LastRound) State(GridCell cell) => _runs.State(cell);

    /// <summary>Runs (or resumes, or skips when finished) one cell and returns its row; <paramref name="ct"/> stops it after the current step, its finished rounds kept.</summary>
    public CommRow Run(GridCell cell, IRoundProgress progress, CancellationToken ct = default)
    {
        _runs.Run(cell, progress, ct);
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
}

/// <summary>What one cell cost and achieved: bytes over all rounds (encoded, and fp32 before the codecs) and the final global test loss.</summary>
public sealed record CommRow(GridCell Cell, bool IsReference, string RunFolder, double? FinalLoss, int Rounds,
    long UpBytes, long DownBytes, long RawUpBytes, long RawDownBytes, double Seconds)
{
    public long TotalBytes => UpBytes + DownBytes;
}
