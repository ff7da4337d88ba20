using Confer.Federation.Rounds;

namespace Confer.Federation.Experiments;

/// <summary>
/// A grid of simulations over one base experiment, seen cell by cell: what a cell's folder holds, how to run (or
/// resume) it, and the row a finished cell contributes to the experiment's table. The CLI runs every grid experiment
/// through the same loop.
/// </summary>
/// <typeparam name="TRow">What one finished cell reports.</typeparam>
public interface IGridExperiment<out TRow>
{
    /// <summary>Every cell, in run order.</summary>
    IReadOnlyList<GridCell> Cells { get; }

    /// <summary>What the cell's folder holds: nothing yet, an interrupted run (and its last committed round), or a finished one.</summary>
    (bool Started, bool Finished, int LastRound) State(GridCell cell);

    /// <summary>The rounds the cell's run is set to, for its progress display.</summary>
    int Rounds(GridCell cell);

    /// <summary>Runs (or resumes) one cell and returns its row; <paramref name="ct"/> stops it after the current step, its finished rounds kept.</summary>
    TRow Run(GridCell cell, IRoundProgress progress, CancellationToken ct = default);

    /// <summary>The row of a finished cell, from its run folder.</summary>
    TRow Row(GridCell cell);
}
