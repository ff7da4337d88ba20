using System.Diagnostics;
using Confer.Federation.Experiments;
using Spectre.Console;

namespace Confer.Cli.Console;

/// <summary>
/// The console loop of every <c>confer experiment</c> grid: each cell in order, a finished one read back instead of run,
/// an interrupted one resumed, one result line per cell with an estimate of the time the unfinished cells still need.
/// </summary>
internal static class GridConsole
{
    /// <summary>Runs every cell of <paramref name="experiment"/>; null when <paramref name="ct"/> interrupted it (the hint to rerun is printed).</summary>
    /// <param name="experiment">The grid.</param>
    /// <param name="describe">What the cell's header line says about it.</param>
    /// <param name="outcome">The result line of a cell's row.</param>
    /// <param name="clock">Started by the caller; the estimate divides its time by the cells this invocation ran.</param>
    /// <param name="ct">Stops the running cell after its current step; finished rounds and cells are kept.</param>
    public static List<TRow>? RunCells<TRow>(IGridExperiment<TRow> experiment, Func<GridCell, string> describe, Func<TRow, string> outcome,
        Stopwatch clock, CancellationToken ct)
    {
        var cells = experiment.Cells;
        var rows = new List<TRow>(cells.Count);
        var ran = 0;
        for (var i = 0; i < cells.Count; i++)
        {
            var cell = cells[i];
            var (started, finished, last) = experiment.State(cell);
            var what = finished ? "finished earlier, skipped" : started ? $"resuming after round {last}" : "running";
            AnsiConsole.MarkupLine($"[bold]run {i + 1}/{cells.Count}[/] {Markup.Escape(describe(cell))}: {what}");
            TRow row;
            if (finished) row = experiment.Row(cell);
            else
            {
                var progress = new SimulationConsole(experiment.Rounds(cell));
                try
                {
                    row = progress.Run(() => experiment.Run(cell, progress, ct));
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    AnsiConsole.MarkupLine($"interrupted; finished runs are kept — rerun the same command to continue from run {i + 1}");
                    return null;
                }
                ran++;
            }
            rows.Add(row);
            var left = cells.Skip(i + 1).Count(c => !experiment.State(c).Finished);
            var eta = ran > 0 && left > 0 ? $"; about {TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / ran * left):h\\:mm\\:ss} left for {left} run(s)" : "";
            AnsiConsole.MarkupLine($"  → {Markup.Escape(outcome(row))}{eta}");
        }
        return rows;
    }
}
