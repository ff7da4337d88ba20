namespace Confer.Federation.Simulation;

/// <summary>
/// Which clients get a local-only baseline: all of them, or a sample of <c>baseline_clients</c> drawn from the run's
/// seed — a 100-client run would otherwise spend a hundred trainings on one table row. The draw ranks clients by a
/// hash of (seed, client id), so it does not depend on the order the data folder lists them in.
/// </summary>
internal static class BaselineSample
{
    /// <summary>The sampled clients in their original order.</summary>
    /// <param name="clients">All clients of the run.</param>
    /// <param name="count">How many to keep; 0 (or at least the client count) keeps every client.</param>
    /// <param name="seed">The run's seed.</param>
    public static IReadOnlyList<ClientData> Of(IReadOnlyList<ClientData> clients, int count, int seed)
    {
        if (count <= 0 || count >= clients.Count) return clients;
        var chosen = clients.OrderBy(c => SeedMix.Mix(seed, -2, c.Id)).ThenBy(c => c.Id, StringComparer.Ordinal)
            .Take(count).Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        return [.. clients.Where(c => chosen.Contains(c.Id))];
    }
}
