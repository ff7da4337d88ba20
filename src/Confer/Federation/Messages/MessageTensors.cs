using Confer.Models;

namespace Confer.Federation.Messages;

/// <summary>Disposes what a message owns once its exchange is over, without disposing a tensor set twice or one it shares.</summary>
public static class MessageTensors
{
    /// <summary>Disposes the adapter of each task (base deltas are shared and stay with their owner).</summary>
    public static void Release(params ClientTask?[] tasks) => ReleaseDistinct(tasks.Select(t => t?.Adapter));

    /// <summary>Disposes the adapter of each update.</summary>
    public static void Release(params ClientUpdate?[] updates) => ReleaseDistinct(updates.Select(u => u?.Adapter));

    /// <summary>Disposes the base delta a stage built for one task (not the strategy's own).</summary>
    public static void ReleaseBaseDelta(ClientTask encoded, ClientTask original)
    {
        if (encoded.BaseDelta is { } d && !ReferenceEquals(d, original.BaseDelta)) d.Dispose();
    }

    private static void ReleaseDistinct(IEnumerable<NamedTensors?> sets)
    {
        var seen = new HashSet<NamedTensors>(ReferenceEqualityComparer.Instance);
        foreach (var set in sets)
            if (set is not null && seen.Add(set)) set.Dispose();
    }
}
