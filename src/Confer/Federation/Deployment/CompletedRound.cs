namespace Confer.Federation.Deployment;

/// <summary>The durable record of one finished round; the server resumes after the last one committed.</summary>
/// <param name="Round">1-based round number.</param>
/// <param name="Selected">Clients asked to train, in selection order.</param>
/// <param name="Returned">Selected clients whose update was aggregated.</param>
/// <param name="Dropped">Selected clients whose update did not count, with the reason.</param>
/// <param name="Metrics">Round metrics by name (NaN is kept: SQLite stores it as NULL and it reads back as NaN).</param>
/// <param name="Seconds">Wall time of the round.</param>
/// <param name="FinishedUtc">When the aggregate was complete.</param>
internal sealed record CompletedRound(
    int Round,
    IReadOnlyList<string> Selected,
    IReadOnlyList<string> Returned,
    IReadOnlyList<DroppedClient> Dropped,
    IReadOnlyDictionary<string, double> Metrics,
    double Seconds,
    DateTime FinishedUtc)
{
    /// <summary>
    /// Rejects a record the server could not have produced, so a bookkeeping bug fails at commit instead of being
    /// persisted: returned and dropped clients were selected, and no client appears twice in one list.
    /// </summary>
    public void Validate()
    {
        if (Round < 1) throw new ArgumentException($"Round number {Round} is invalid: rounds are numbered from 1.");
        if (!double.IsFinite(Seconds) || Seconds < 0) throw new ArgumentException($"Round {Round}: duration {Seconds} s is not a finite non-negative number.");
        CheckList("selected", Selected, Selected);
        CheckList("returned", Returned, Selected);
        CheckList("dropped", Dropped.Select(d => d.ClientId).ToList(), Selected);
    }

    private void CheckList(string name, IReadOnlyList<string> clients, IReadOnlyList<string> selected)
    {
        if (clients.CountBy(c => c, StringComparer.Ordinal).FirstOrDefault(c => c.Value > 1) is { Key: { } twice })
            throw new ArgumentException($"Round {Round}: client '{twice}' appears twice among the {name} clients.");
        if (clients.FirstOrDefault(c => !selected.Contains(c, StringComparer.Ordinal)) is { } stranger)
            throw new ArgumentException($"Round {Round}: client '{stranger}' is listed as {name} but was not selected.");
    }
}
