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

    public void PollEnded(string clientId)
    {
        Seen(clientId);
        _openPolls.AddOrUpdate(clientId, 0, (_, n) => Math.Max(0, n - 1));
    }

    /// <summary>Clients that made a call within <see cref="Timeout"/> or hold an open poll.</summary>
    public bool IsAlive(string clientId) =>
        (_openPolls.TryGetValue(clientId, out var polls) && polls > 0) ||
        (_lastSeen.TryGetValue(clientId, out var t) && DateTime.UtcNow - t <= Timeout);

    /// <summary>Seconds since the client's last call, or null if it never called.</summary>
    public double? SecondsSinceSeen(string clientId) =>
        _lastSeen.TryGetValue(clientId, out var t) ? (DateTime.UtcNow - t).TotalSeconds : null;

    /// <summary>Forgets a client whose connection broke, so a crash is noticed at once rather than after the timeout.</summary>
    public void Lost(string clientId)
    {
        _openPolls.TryRemove(clientId, out _);
        _lastSeen[clientId] = DateTime.MinValue;
    }
}
