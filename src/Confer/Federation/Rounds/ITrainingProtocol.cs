using Confer.Federation.Scheduling;

namespace Confer.Federation.Rounds;

/// <summary>
/// How a round's training is carried out between selection and evaluation, on the driver's pool and message stages:
/// <see cref="PlainTraining"/> sends one training exchange and lets the strategy aggregate the individual updates;
/// secure aggregation runs key set-up exchanges, a masked training exchange and an unmasking exchange, and the
/// strategy sees only the sum. Both run on <see cref="IClientPool"/>, so both work in simulation and deployment alike.
/// </summary>
public interface ITrainingProtocol
{
    /// <summary>
    /// Trains and aggregates one attempt at <paramref name="round"/> with the clients of <paramref name="plan"/> (at its ranks, when it sets any),
    /// recording what travels in <paramref name="ledger"/>. A failure leaves the strategy's state as it was.
    /// </summary>
    Task<TrainingOutcome> RunAsync(RoundServices services, int round, int attempt, RoundPlan plan, TrafficLedger ledger, CancellationToken ct);
}

/// <summary>What one attempt at a round's training produced.</summary>
/// <param name="Selected">Clients asked to train, in ascending ordinal id order.</param>
/// <param name="Summary">The aggregation's summary; null when the attempt failed.</param>
/// <param name="Dropped">Selected clients whose update did not count, and why.</param>
/// <param name="Failure">Why the attempt failed (too few updates, aggregation error …); null on success.</param>
public sealed record TrainingOutcome(IReadOnlyList<string> Selected, RoundSummary? Summary, IReadOnlyList<DroppedClient> Dropped, string? Failure)
{
    /// <summary>How long each client's part took, where the pool times clients (a simulated network); else empty.</summary>
    public IReadOnlyList<ClientTiming> Timings { get; init; } = [];

    /// <summary>Round metrics the pool measured; they go into the round's record.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
