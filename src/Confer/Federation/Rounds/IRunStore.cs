namespace Confer.Federation.Rounds;

/// <summary>
/// Where a run's record lives: a run folder (simulation: metrics.jsonl, traffic.csv, checkpoint.json) or a server
/// state folder (deployment: server.db). Both keep per-round checkpoints in the same layout (<see cref="RunLayout"/>)
/// and commit a round only after its checkpoint files are on disk, so either resumes after its last committed round.
/// </summary>
public interface IRunStore
{
    /// <summary>The run's root folder.</summary>
    string Folder { get; }

    /// <summary>The highest committed training round, or 0.</summary>
    int LastCompletedRound();

    /// <summary>Every committed record in order, round 0 (the starting model's evaluation) included once written.</summary>
    IReadOnlyList<RoundRecord> Rounds();

    /// <summary>Commits one record durably: round 0 once before round 1, then rounds in order, each once.</summary>
    void CommitRound(RoundRecord record);

    /// <summary>True once the run's final model is exported.</summary>
    bool IsFinished { get; }

    void MarkFinished();
}

/// <summary>The folder layout both stores share.</summary>
public static class RunLayout
{
    public static string RoundFolder(string root, int round) => Path.Combine(root, "rounds", $"round-{round:D4}");

    public static string StateFile(string root, int round) => Path.Combine(RoundFolder(root, round), "state.safetensors");

    public static string FinalFolder(string root) => Path.Combine(root, "final");
}
