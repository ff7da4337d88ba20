namespace Confer.Federation.Simulation;

/// <summary>The headline numbers of a finished run (details are in its run folder).</summary>
public sealed record SimulationResult(string RunFolder, string Strategy, double GlobalLoss, double GlobalPerplexity, double InitialLoss,
    double? LocalOnlyMeanLoss, double? CentralizedLoss, long BytesUp, long BytesDown, double Seconds);
