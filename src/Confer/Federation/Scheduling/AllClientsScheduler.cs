namespace Confer.Federation.Scheduling;

/// <summary><c>all</c> — cross-silo: every client, every round.</summary>
internal sealed class AllClientsScheduler : IClientScheduler
{
    public string Name => "all";

    public IReadOnlyList<string> Select(int round, IReadOnlyList<ClientProfile> clients) => SchedulingMath.SortedIds(round, clients);
}
