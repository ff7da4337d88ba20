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
}
