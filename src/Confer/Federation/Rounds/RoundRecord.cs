namespace Confer.Federation.Rounds;

/// <summary>
/// Everything a finished round leaves in the run's record, the same in simulation and deployment. Round 0 is the
/// starting model's evaluation: no clients, no traffic.
/// </summary>
/// <param name="Round">Round number (0 = the starting model).</param>
/// <param name="Selected">Clients asked to train, in ascending ordinal id order.</param>
/// <param name="Aggregated">Selected clients whose update was aggregated, in aggregation order.</param>
/// <param name="Dropped">Selected clients whose update did not count, with the reason.</param>
/// <param name="Examples">Σ n_k over the aggregated updates.</param>
/// <param name="Metrics">
/// Round metrics by name: p_k-weighted client training metrics (<c>train_loss</c> …), strategy metrics
/// (<c>flora/stacked_rank</c> …) and, when evaluated, <see cref="MetricNames.GlobalLoss"/> and
/// <see cref="MetricNames.GlobalPerplexity"/>.
/// </param>
/// <param name="Traffic">What each selected client received and sent, in ordinal client-id order.</param>
/// <param name="ClientEvaluations">The round's global model on clients' local test splits (federated evaluation).</param>
/// <param name="Seconds">Wall time of the round.</param>
public sealed record RoundRecord(
    int Round,
    IReadOnlyList<string> Selected,
    IReadOnlyList<string> Aggregated,
    IReadOnlyList<DroppedClient> Dropped,
    long Examples,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyList<ClientTraffic> Traffic,
    IReadOnlyList<ClientEvaluation> ClientEvaluations,
    double Seconds)
{
    /// <summary>How long each client's part of the round took (simulated network); empty when nothing timed the clients.</summary>
    public IReadOnlyList<ClientTiming> Timings { get; init; } = [];

    public double? GlobalLoss => Metric(MetricNames.GlobalLoss);

    public double? GlobalPerplexity => Metric(MetricNames.GlobalPerplexity);

    public double? TrainLoss => Metric(MetricNames.TrainLoss);

    public TransferCost Up => Traffic.Aggregate(TransferCost.Zero, (sum, t) => sum + t.Up);

    public TransferCost Down => Traffic.Aggregate(TransferCost.Zero, (sum, t) => sum + t.Down);

    public double? Metric(string name) => Metrics.TryGetValue(name, out var v) ? v : null;

    /// <summary>
    /// Rejects a record the driver could not have produced, so a bookkeeping bug fails at commit instead of being
    /// persisted: aggregated and dropped clients were selected, and no client appears twice in one list.
    /// </summary>
    public void Validate()
    {
        if (Round < 0) throw new ArgumentException($"Round number {Round} is invalid.");
        if (!double.IsFinite(Seconds) || Seconds < 0) throw new ArgumentException($"Round {Round}: duration {Seconds} s is not a finite non-negative number.");
        CheckList("selected", Selected, Selected);
        CheckList("aggregated", Aggregated, Selected);
        CheckList("dropped", [.. Dropped.Select(d => d.ClientId)], Selected);
        CheckList("timed", [.. Timings.Select(t => t.ClientId)], Selected);
        if (Timings.FirstOrDefault(t => !(double.IsFinite(t.Seconds) && t.DownloadSeconds >= 0 && t.ComputeSeconds >= 0 && t.UploadSeconds >= 0)) is { } bad)
            throw new ArgumentException($"Round {Round}: client '{bad.ClientId}' has a timing that is not finite and non-negative.");
    }

    private void CheckList(string name, IReadOnlyList<string> clients, IReadOnlyList<string> selected)
    {
        if (clients.CountBy(c => c, StringComparer.Ordinal).FirstOrDefault(c => c.Value > 1) is { Key: { } twice })
            throw new ArgumentException($"Round {Round}: client '{twice}' appears twice among the {name} clients.");
        if (clients.FirstOrDefault(c => !selected.Contains(c, StringComparer.Ordinal)) is { } stranger)
            throw new ArgumentException($"Round {Round}: client '{stranger}' is listed as {name} but was not selected.");
    }
}

/// <summary>A selected client whose update did not count in a round, and why (deadline, silence, refused update …).</summary>
public sealed record DroppedClient(string ClientId, string Reason);

/// <summary>One client's evaluation of the global model on its local test split.</summary>
public sealed record ClientEvaluation(string ClientId, double Loss, long Examples);
