using Confer.Training;

namespace Confer.Federation.Rounds;

/// <summary>What a run reports as it goes, for progress bars, logs or a status page. All members are optional no-ops.</summary>
public interface IRoundProgress
{
    /// <summary>What the run does now, e.g. <c>waiting for clients</c>, for round <paramref name="round"/> (0 outside rounds).</summary>
    void Phase(string message, int round = 0) { }

    /// <summary>Something went wrong that the run survives (a dropped client, a retried round).</summary>
    void Warning(string message) { }

    /// <summary>A unit of in-process training begins: a client in a round, or a baseline model.</summary>
    void TrainingStarted(string label, int totalSteps) { }

    void TrainingProgress(TrainProgress progress) { }

    void TrainingFinished() { }

    void RoundFinished(RoundRecord record) { }
}
