using Confer.Data;

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
        var k = options.SampleSize(ids.Length);
        var rng = new SplitMix64(SeedMix.Mix(options.Seed, round));
        // Partial Fisher–Yates: the first k slots become a uniform sample without replacement.
        for (var i = 0; i < k; i++)
        {
            var j = i + rng.NextInt(ids.Length - i);
            (ids[i], ids[j]) = (ids[j], ids[i]);
        }
        return ids.Take(k).Order(StringComparer.Ordinal).ToList();
    }
}
