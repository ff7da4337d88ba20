namespace Confer.Federation;

/// <summary>
/// Aggregates a round so that a bad update costs only its sender: <see cref="Strategy.AggregateTrain"/> validates
/// every update before it changes anything, so an invalid one is dropped (and reported) and the rest aggregated.
/// The round driver finishes every round through here.
/// </summary>
internal static class RoundAggregator
{
    public static (RoundSummary Summary, List<string> Dropped) Aggregate(
        Strategy strategy, int round, IReadOnlyList<ClientUpdate> updates, Action<string, string> onDropped)
    {
        var dropped = new List<string>();
        var remaining = new List<ClientUpdate>(updates);
        while (true)
        {
            try
            {
                return (strategy.AggregateTrain(round, remaining), dropped);
            }
            catch (InvalidClientUpdateException e)
            {
                onDropped(e.ClientId, e.Reason);
                dropped.Add(e.ClientId);
                remaining.RemoveAll(u => u.ClientId == e.ClientId);
            }
        }
    }
}
