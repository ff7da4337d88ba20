namespace Confer.Federation.Scheduling;

/// <summary>Shared checks for schedulers.</summary>
internal static class SchedulingMath
{
    /// <summary>Client ids in ordinal order, so selection does not depend on the order the caller lists them in.</summary>
    public static string[] SortedIds(int round, IReadOnlyList<ClientProfile> clients)
    {
        if (round < 1) throw new ArgumentOutOfRangeException(nameof(round), round, "Rounds are numbered from 1.");
        var ids = clients.Select(c => c.Id).Order(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0) throw new ArgumentException("No clients to schedule.", nameof(clients));
        for (var i = 1; i < ids.Length; i++)
            if (ids[i] == ids[i - 1]) throw new ArgumentException($"Client '{ids[i]}' is listed twice.", nameof(clients));
        return ids;
    }

    /// <summary>
    /// A uniform sample of <paramref name="k"/> of <paramref name="ids"/> without replacement (partial Fisher–Yates,
    /// generator seeded by (seed, round) alone), in ascending ordinal order. Reorders <paramref name="ids"/>.
    /// </summary>
    public static List<string> Sample(string[] ids, int k, int seed, int round)
    {
        var rng = new Data.SplitMix64(SeedMix.Mix(seed, round));
        for (var i = 0; i < k; i++)
        {
            var j = i + rng.NextInt(ids.Length - i);
            (ids[i], ids[j]) = (ids[j], ids[i]);
        }
        return ids.Take(k).Order(StringComparer.Ordinal).ToList();
    }
}
