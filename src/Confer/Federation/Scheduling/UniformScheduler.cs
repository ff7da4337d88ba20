namespace Confer.Federation.Scheduling;

/// <summary>
/// <c>uniform</c> — Shepherd / FedIT / Flower: max(int(n · fraction), min) clients drawn without replacement, from a
/// generator seeded by (seed, round) alone, so any round can be re-drawn identically after a resume.
/// </summary>
internal sealed class UniformScheduler(SchedulingOptions options) : IClientScheduler
{
    public string Name => "uniform";

    public IReadOnlyList<string> Select(int round, IReadOnlyList<ClientProfile> clients)
    {
        var ids = SchedulingMath.SortedIds(round, clients);
        return SchedulingMath.Sample(ids, options.SampleSize(ids.Length), options.Seed, round);
    }
}
