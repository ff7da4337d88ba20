using Confer.Federation.Reporting;

namespace Confer.Federation.Simulation;

/// <summary>
/// The headline numbers of a finished run (details are in its run folder); losses are null where nothing was evaluated.
/// The two compute texts say what each baseline's optimiser steps were matched to (or that they were not).
/// </summary>
public sealed record SimulationResult(string RunFolder, string Strategy, double? GlobalLoss, double? GlobalPerplexity, double? InitialLoss,
    double? LocalOnlyMeanLoss, double? CentralizedLoss, long BytesUp, long BytesDown, double Seconds,
    string? LocalOnlyCompute = null, string? CentralizedCompute = null)
{
    /// <summary>Total simulated wall-clock of the rounds, when the run had a simulated network (<c>client_devices</c>).</summary>
    public double? SimulatedSeconds { get; init; }

    /// <summary>The summary of what <paramref name="run"/> holds.</summary>
    public static SimulationResult Read(RunFolder run, string strategy, double seconds)
    {
        var metrics = RunMetrics.Read(run.Folder);
        var clients = File.Exists(run.RunFile) ? RunInfo.Read(run.Folder).Clients : null;
        return new SimulationResult(run.Folder, strategy, metrics.FinalRound?.GlobalLoss, metrics.FinalRound?.GlobalPerplexity,
            metrics.Rounds.FirstOrDefault(r => r.Round == 0)?.GlobalLoss, metrics.MeanLocalOnlyLoss, metrics.CentralizedLoss,
            metrics.Rounds.Sum(r => r.BytesUp), metrics.Rounds.Sum(r => r.BytesDown), seconds,
            metrics.LocalOnlyCompute(clients), metrics.CentralizedCompute)
        {
            SimulatedSeconds = metrics.HasSimulatedTime ? metrics.Rounds.Sum(r => ReportPlots.SimulatedSeconds(r) ?? 0) : null,
        };
    }
}
