using System.Collections.Concurrent;

namespace Confer.Federation.Deployment;

/// <summary>
/// Which clients are alive: every call a client makes counts as a sign of life, and a client silent for three
/// heartbeat intervals is gone. Long polls count as alive while they are open, so idle clients cost no traffic.
/// </summary>
internal sealed class Presence(TimeSpan heartbeat)
{
    private readonly ConcurrentDictionary<string, DateTime> _lastSeen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _openPolls = new(StringComparer.Ordinal);

    public TimeSpan Timeout { get; } = heartbeat * 3;

    public void Seen(string clientId) => _lastSeen[clientId] = DateTime.UtcNow;

    public void PollStarted(string clientId)
    {
        Seen(clientId);
        _openPolls.AddOrUpdate(clientId, 1, (_, n) => n + 1);
    }

    /// <summary>A poll returned; <paramref name="connectionLost"/> when it ended because the client's connection went away.</summary>
    public void PollEnded(string clientId, bool connectionLost)
    {
        _openPolls.AddOrUpdate(clientId, 0, (_, n) => Math.Max(0, n - 1));
        // A crashed client is noticed at once rather than after the timeout.
        _lastSeen[clientId] = connectionLost ? DateTime.MinValue : DateTime.UtcNow;
    }

    /// <summary>Clients that made a call within <see cref="Timeout"/> or hold an open poll.</summary>
    public bool IsAlive(string clientId) =>
        (_openPolls.TryGetValue(clientId, out var polls) && polls > 0) ||
        (_lastSeen.TryGetValue(clientId, out var t) && DateTime.UtcNow - t <= Timeout);
}
