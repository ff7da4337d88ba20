namespace Confer.Federation.Rounds;

/// <summary>
/// How the <see cref="RoundDriver"/> reaches the run's clients — Flower's grid: in-process clients in a simulation,
/// client processes over gRPC in a deployment. The driver decides what is sent; a pool only delivers tasks and gathers
/// replies, so both modes run the same rounds.
/// </summary>
public interface IClientPool
{
    /// <summary>Clients that may train in <paramref name="round"/>, in enrolment order; a deployment waits here until enough are connected.</summary>
    Task<IReadOnlyList<string>> AvailableAsync(int round, CancellationToken ct);

    /// <summary>Clients that can be reached right now, without waiting for more (federated evaluation asks whoever is there).</summary>
    IReadOnlyList<string> ReachableNow();

    /// <summary>
    /// What <paramref name="clientId"/>'s device declares about itself (names in <see cref="Scheduling.ClientCapabilities"/>),
    /// for resource-aware schedulers; empty when the pool knows nothing (the default).
    /// </summary>
    IReadOnlyDictionary<string, double> Capabilities(string clientId) => new Dictionary<string, double>();

    /// <summary>
    /// Delivers each task of <paramref name="exchange"/> (already encoded) and returns when every addressed client has
    /// replied, dropped out or missed the deadline. Each reply goes through <see cref="Exchange.Admit"/> as it arrives;
    /// a reply it refuses (<see cref="InvalidClientUpdateException"/>) drops its client with that reason, and in a
    /// deployment the client hears the reason at once.
    /// </summary>
    Task<ExchangeResult> ExchangeAsync(Exchange exchange, CancellationToken ct);
}

/// <summary>One round-trip to a set of clients: train tasks, evaluation tasks, or one step of a protocol's set-up.</summary>
/// <param name="Round">Round number.</param>
/// <param name="Attempt">Attempt at this round (a deployment re-runs a round that got too few updates).</param>
/// <param name="Kind">What the tasks ask for.</param>
/// <param name="Tasks">One encoded task per client, in ascending ordinal client-id order. The driver owns them.</param>
/// <param name="Admit">Counts, decodes and checks one reply (thread-safe); returns the decoded update, which the pool hands back.</param>
public sealed record Exchange(int Round, int Attempt, TaskKind Kind, IReadOnlyList<ClientTask> Tasks, Func<ClientUpdate, ClientUpdate> Admit)
{
    /// <summary>Which of a round's several exchanges of one kind this is (e.g. a secure-aggregation step); part of its task id.</summary>
    public string Step { get; init; } = "";
}

/// <summary>The admitted (decoded) replies, which the caller owns, and the clients that did not reply with an admissible one.</summary>
public sealed record ExchangeResult(IReadOnlyList<ClientUpdate> Replies, IReadOnlyList<DroppedClient> Dropped)
{
    /// <summary>How long each replying client's part took, where the pool times clients (a simulated network); else empty.</summary>
    public IReadOnlyList<ClientTiming> Timings { get; init; } = [];

    /// <summary>Round metrics the pool measured (e.g. <see cref="MetricNames.SimulatedSeconds"/>); they go into the round's record.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
