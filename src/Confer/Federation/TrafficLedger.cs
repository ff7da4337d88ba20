namespace Confer.Federation;

/// <summary>
/// Per-client, per-round communication record. The engine records every task it sends (downlink) and every round
/// summary (uplink of the clients that were aggregated); a client that dropped out has downlink but no uplink.
/// </summary>
public sealed class TrafficLedger
{
    private readonly SortedDictionary<(int Round, string ClientId), ClientTraffic> _entries =
        new(Comparer<(int Round, string ClientId)>.Create((a, b) =>
            a.Round != b.Round ? a.Round.CompareTo(b.Round) : string.CompareOrdinal(a.ClientId, b.ClientId)));

    /// <summary>All entries ordered by round, then ordinal client id.</summary>
    public IReadOnlyList<ClientTraffic> Entries => _entries.Values.ToList();

    public TransferCost TotalDown => _entries.Values.Aggregate(TransferCost.Zero, (sum, e) => sum + e.Down);

    public TransferCost TotalUp => _entries.Values.Aggregate(TransferCost.Zero, (sum, e) => sum + e.Up);

    /// <summary>Adds the downlink of a task that was sent.</summary>
    public void RecordDownlink(ClientTask task) =>
        Update(task.Round, task.ClientId, e => e with { Down = e.Down + task.Downlink });

    /// <summary>Adds the uplink of every client aggregated in <paramref name="summary"/>.</summary>
    public void RecordUplink(RoundSummary summary)
    {
        foreach (var (clientId, cost) in summary.Uplink)
            Update(summary.Round, clientId, e => e with { Up = e.Up + cost });
    }

    /// <summary>Totals of one round: (downlink, uplink) summed over clients.</summary>
    public (TransferCost Down, TransferCost Up) RoundTotals(int round)
    {
        var down = TransferCost.Zero;
        var up = TransferCost.Zero;
        foreach (var e in _entries.Values.Where(e => e.Round == round))
        {
            down += e.Down;
            up += e.Up;
        }
        return (down, up);
    }

    private void Update(int round, string clientId, Func<ClientTraffic, ClientTraffic> change)
    {
        var key = (round, clientId);
        var entry = _entries.TryGetValue(key, out var e) ? e : new ClientTraffic(round, clientId, TransferCost.Zero, TransferCost.Zero);
        _entries[key] = change(entry);
    }
}
