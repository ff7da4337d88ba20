using Confer.Federation.Rounds;

namespace Confer.Federation.Deployment;

/// <summary>
/// One exchange the gRPC gate is running: the tasks on offer, the replies admitted, the clients dropped and why, and
/// the downloads and uploads in flight. Closing it refuses new work, cancels what is in flight and waits until none
/// of it touches the tasks any more, so the driver may dispose them and aggregate as soon as the exchange returns.
/// Fields are guarded by the gate's lock; the activity count by its own.
/// </summary>
internal sealed class OpenExchange(Exchange exchange, string taskId, DateTime deadlineUtc)
{
    private readonly Dictionary<string, ClientTask> _tasks = exchange.Tasks.ToDictionary(t => t.ClientId, StringComparer.Ordinal);
    private readonly CancellationTokenSource _closing = new();
    private readonly Lock _activityGate = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _activity;

    public Exchange Exchange { get; } = exchange;

    public int Round => Exchange.Round;

    /// <summary>Names this exchange; a reply for any other task id (an earlier attempt, a server that restarted) is refused.</summary>
    public string TaskId { get; } = taskId;

    public DateTime DeadlineUtc { get; } = deadlineUtc;

    /// <summary>Times each client's part of a training exchange (null for evaluation and set-up: monitoring, not training).</summary>
    public ExchangeClock? Clock { get; } = exchange.Kind == TaskKind.Train ? new ExchangeClock() : null;

    public bool Closed { get; private set; }

    /// <summary>Cancelled when the exchange closes: downloads and uploads still running stop.</summary>
    public CancellationToken Closing => _closing.Token;

    public IReadOnlyCollection<string> Selected => _tasks.Keys;

    public Dictionary<string, ClientUpdate> Received { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> Dropped { get; } = new(StringComparer.Ordinal);

    /// <summary>Uploads being received, with the time their last frame arrived (a stalled upload is dropped like a silent client).</summary>
    public Dictionary<string, DateTime> Receiving { get; } = new(StringComparer.Ordinal);

    public bool IsSelected(string clientId) => _tasks.ContainsKey(clientId);

    public ClientTask Task(string clientId) => _tasks[clientId];

    /// <summary>The client was selected and has neither returned, started uploading, nor been dropped.</summary>
    public bool AwaitsUpload(string clientId) =>
        IsSelected(clientId) && !Received.ContainsKey(clientId) && !Dropped.ContainsKey(clientId) && !Receiving.ContainsKey(clientId);

    /// <summary>Selected clients that have neither returned nor been dropped.</summary>
    public IEnumerable<string> Outstanding => _tasks.Keys.Where(c => !Received.ContainsKey(c) && !Dropped.ContainsKey(c));

    /// <summary>Registers a download or upload that will read the tasks; false once the exchange is closing.</summary>
    public bool TryBeginActivity()
    {
        lock (_activityGate)
        {
            if (Closed) return false;
            _activity++;
            return true;
        }
    }

    public void EndActivity()
    {
        lock (_activityGate)
            if (--_activity == 0 && Closed) _idle.TrySetResult();
    }

    /// <summary>Refuses new work, cancels what is in flight and completes once nothing reads the tasks any more.</summary>
    public async Task CloseAsync()
    {
        lock (_activityGate)
        {
            Closed = true;
            if (_activity == 0) _idle.TrySetResult();
        }
        await _closing.CancelAsync().ConfigureAwait(false);
        await _idle.Task.ConfigureAwait(false);
        _closing.Dispose();
    }
}
