namespace Confer.Federation;

/// <summary>
/// Per-client communication of one round's training exchange, as it travels: the round driver records every task it
/// sends (downlink) and every update it receives in full (uplink), after the message codecs, so a simulation counts
/// the bytes a deployment would send. A client that dropped out has downlink but no uplink. Federated evaluation
/// (global adapter down, one loss up) is monitoring, not training, and is not counted.
/// </summary>
public sealed class TrafficLedger(int round)
{
    private readonly SortedDictionary<string, ClientTraffic> _entries = new(StringComparer.Ordinal);

    public int Round { get; } = round;

    /// <summary>Entries in ordinal client-id order.</summary>
    public IReadOnlyList<ClientTraffic> Entries => [.. _entries.Values];

    public TransferCost TotalDown => _entries.Values.Aggregate(TransferCost.Zero, (sum, e) => sum + e.Down);

    public TransferCost TotalUp => _entries.Values.Aggregate(TransferCost.Zero, (sum, e) => sum + e.Up);

    public void RecordDownlink(string clientId, TransferCost cost) => Update(clientId, e => e with { Down = e.Down + cost });

    public void RecordUplink(string clientId, TransferCost cost) => Update(clientId, e => e with { Up = e.Up + cost });

    private void Update(string clientId, Func<ClientTraffic, ClientTraffic> change)
    {
        lock (_entries)
        {
            var entry = _entries.TryGetValue(clientId, out var e) ? e : new ClientTraffic(Round, clientId, TransferCost.Zero, TransferCost.Zero);
            _entries[clientId] = change(entry);
        }
    }
}
