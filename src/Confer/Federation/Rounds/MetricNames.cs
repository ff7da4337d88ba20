namespace Confer.Federation.Rounds;

/// <summary>Names of the round metrics the engine itself writes; strategies add theirs under <c>&lt;strategy&gt;/…</c>.</summary>
public static class MetricNames
{
    public const string GlobalLoss = "global_loss";
    public const string GlobalPerplexity = "global_perplexity";
    public const string TrainLoss = "train_loss";

    /// <summary>The round's simulated wall-clock in seconds (slowest returning client: download + compute + upload), from the simulated network.</summary>
    public const string SimulatedSeconds = "simulated_seconds";

    /// <summary>The clients' measured local training time on this machine in the round, summed, in seconds.</summary>
    public const string RealTrainSeconds = "real_train_seconds";

    /// <summary>A client's loss on its local test split, in an evaluation reply.</summary>
    public const string LocalLoss = "local_loss";

    /// <summary>A classifier client's share of right answers on its local test split (in [0, 1]), in an evaluation reply.</summary>
    public const string Accuracy = "accuracy";

    /// <summary>The round's unweighted mean of the clients' <see cref="Accuracy"/>.</summary>
    public const string ClientAccuracy = "clients/accuracy";

    /// <summary>One client's <see cref="Accuracy"/> in the round's record.</summary>
    public static string ClientAccuracyOf(string clientId) => $"{ClientAccuracy}/{clientId}";

    /// <summary>True for a metric of one client (<see cref="ClientAccuracyOf"/>): one per site, too many for a log line.</summary>
    public static bool IsPerClient(string name) => name.StartsWith(ClientAccuracy + "/", StringComparison.Ordinal);

    /// <summary>Most metrics one client reply may carry, and the longest name: a hostile client cannot flood the record.</summary>
    public const int MaxPerReply = 32;

    public const int MaxNameLength = 64;
}
