namespace Confer.Federation.Rounds;

/// <summary>What the driver does when fewer updates arrive than a round needs.</summary>
public enum ShortRoundAction
{
    /// <summary>Run the round again (a new attempt: selection among the clients connected then).</summary>
    Retry,

    /// <summary>Stop; the state stays at the last committed round and a restart retries.</summary>
    Fail,
}

/// <summary>
/// How many updates a round needs and what happens when they do not arrive. A deployment loses clients to deadlines
/// and silence, a simulation with a simulated network (<c>client_devices</c>) to its seeded drop-outs and deadline;
/// under the defaults a round with one admissible update proceeds.
/// </summary>
/// <param name="MinReturned">Updates a round needs to aggregate.</param>
/// <param name="OnShortRound">Retry or stop when fewer arrive.</param>
/// <param name="MaxAttempts">Attempts per round before the run stops.</param>
public sealed record RoundPolicy(int MinReturned = 1, ShortRoundAction OnShortRound = ShortRoundAction.Retry, int MaxAttempts = 3)
{
    /// <summary>The policy of the config keys <c>min_returned</c>, <c>on_short_round</c> (validated: retry or fail) and <c>max_round_attempts</c>.</summary>
    internal static RoundPolicy FromKeys(int minReturned, string onShortRound, int maxRoundAttempts) =>
        new(minReturned, onShortRound == "fail" ? ShortRoundAction.Fail : ShortRoundAction.Retry, maxRoundAttempts);
}

/// <summary>The run cannot go on (too few clients, too many failed attempts); its state stays at the last committed round.</summary>
public sealed class RunStoppedException(string message) : Exception(message);
