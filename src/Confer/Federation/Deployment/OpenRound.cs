using Confer.Models;

namespace Confer.Federation.Deployment;

/// <summary>
/// One attempt at one round on the server: the tasks issued, the updates accepted, the clients dropped and why.
/// The task tensors are shared by concurrent downloads, so they are reference-counted: closing the round releases
/// them once the last download has finished.
/// </summary>
internal sealed class OpenRound(int round, int attempt, string taskId, IReadOnlyList<ClientTask> tasks, NamedTensors? baseDelta, DateTime deadlineUtc)
{
    private readonly Dictionary<string, ClientTask> _tasks = tasks.ToDictionary(t => t.ClientId, StringComparer.Ordinal);
    private int _users = 1;

    public int Round { get; } = round;

    public int Attempt { get; } = attempt;

    /// <summary>Names this attempt; an update for any other task id (an earlier attempt, a server that restarted) is refused.</summary>
    public string TaskId { get; } = taskId;

    public DateTime DeadlineUtc { get; } = deadlineUtc;

    public DateTime StartedUtc { get; } = DateTime.UtcNow;

    /// <summary>The merged ΔW every task builds on (one copy shared by all tasks of the round).</summary>
    public NamedTensors? BaseDelta { get; } = baseDelta;

    public bool Closed { get; private set; }

    public IReadOnlyCollection<string> Selected => _tasks.Keys;

    public Dictionary<string, ClientUpdate> Received { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> Dropped { get; } = new(StringComparer.Ordinal);

    /// <summary>Clients whose upload is being received right now (a second concurrent upload is refused).</summary>
    public HashSet<string> Receiving { get; } = new(StringComparer.Ordinal);

    public bool IsSelected(string clientId) => _tasks.ContainsKey(clientId);

    public ClientTask Task(string clientId) => _tasks[clientId];

    /// <summary>The client was selected and has neither returned, started uploading, nor been dropped.</summary>
    public bool AwaitsUpload(string clientId) =>
        IsSelected(clientId) && !Received.ContainsKey(clientId) && !Dropped.ContainsKey(clientId) && !Receiving.Contains(clientId);

    /// <summary>Selected clients that have neither returned nor been dropped.</summary>
    public IEnumerable<string> Outstanding => _tasks.Keys.Where(c => !Received.ContainsKey(c) && !Dropped.ContainsKey(c));

    /// <summary>Keeps the task tensors alive for a download; false once the round has closed.</summary>
    public bool TryAcquire()
    {
        lock (_tasks)
        {
            if (Closed) return false;
            _users++;
            return true;
        }
    }

    public void Release()
    {
        lock (_tasks)
            if (--_users == 0) DisposeTensors();
    }

    /// <summary>Refuses further uploads and downloads; the tensors go when the last download ends.</summary>
    public void Close()
    {
        lock (_tasks)
        {
            if (Closed) return;
            Closed = true;
        }
        Release();
    }

    private void DisposeTensors()
    {
        foreach (var t in _tasks.Values) t.Adapter?.Dispose();
        BaseDelta?.Dispose();
    }
}
