namespace Confer.Federation.Scheduling;

/// <summary>
/// <c>round-robin</c>: k = max(int(n · fraction), min) consecutive clients (ordinal id order, wrapping), starting where
/// the previous round stopped; every client trains once every ⌈n / k⌉ rounds.
/// </summary>
internal sealed class RoundRobinScheduler(SchedulingOptions options) : IClientScheduler
{
    public string Name => "round-robin";

    public IReadOnlyList<string> Select(int round, IReadOnlyList<ClientProfile> clients)
    {
        var ids = SchedulingMath.SortedIds(round, clients);
        var k = options.SampleSize(ids.Length);
        var start = (int)((long)(round - 1) * k % ids.Length);
        return Enumerable.Range(0, k).Select(i => ids[(start + i) % ids.Length]).Order(StringComparer.Ordinal).ToList();
    }
}
