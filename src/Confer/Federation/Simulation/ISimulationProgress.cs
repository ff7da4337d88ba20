using Confer.Training;

namespace Confer.Federation.Simulation;

/// <summary>What a simulation reports as it runs, for progress bars or logs. All members are optional no-ops.</summary>
public interface ISimulationProgress
{
    void Phase(string message) { }

    /// <summary>A unit of local training begins: a client in a round, or a baseline model.</summary>
    void TrainingStarted(string label, int totalSteps) { }

    void TrainingProgress(TrainProgress progress) { }

    void TrainingFinished() { }

    void RoundFinished(RoundRecord record) { }
}

/// <summary>One finished round as logged: global evaluation, participants and traffic.</summary>
public sealed record RoundRecord(int Round, double GlobalLoss, double GlobalPerplexity, double? TrainLoss,
    IReadOnlyList<string> Clients, long BytesUp, long BytesDown, double Seconds, IReadOnlyList<string> Dropped);
