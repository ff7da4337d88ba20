using Confer.Federation.Rounds;
using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Confer.Federation.Deployment;

/// <summary>
/// The gRPC gate: the deployed server's <see cref="IClientPool"/>. The round driver hands it an exchange; it offers
/// each task to its client's long poll, streams the task out, receives the reply, runs it through the driver's admit
/// function and drops clients that go silent, stall an upload or miss the deadline. It holds no round logic of its own.
/// Every public method is safe to call from gRPC threads; the gate's state is guarded by <see cref="_gate"/>, held briefly.
/// </summary>
internal sealed class GrpcClientPool : IClientPool
{
    private readonly ServerSettings _server;
    private readonly ServerStore _store;
    private readonly IReadOnlyList<string> _clientIds;
    private readonly Func<string, int> _rankOf;
    private readonly string _modelFingerprint;
    private readonly string _modelName;
    private readonly string _runKind;
    private readonly string _runYaml;
    private readonly ILogger _log;
    private readonly Presence _presence;
    private readonly string _processNonce = Guid.NewGuid().ToString("N")[..8];
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = NewSignal();
    private OpenExchange? _open;
    private int _round;
    private bool _finished;

    /// <param name="server">Deployment keys (deadlines, heartbeats, limits).</param>
    /// <param name="store">The server's state, whose event log records refused replies.</param>
    /// <param name="clientIds">Enrolled clients, in enrolment order.</param>
    /// <param name="rankOf">The LoRA rank the run trains a client at (checked against what it declares at join).</param>
    /// <param name="modelFingerprint">SHA-256 of the base model; a client with another model is refused.</param>
    /// <param name="modelName">The base model's folder, for messages.</param>
    /// <param name="runKind">What the run trains (<see cref="DeployedRun.Kind"/>), sent to every client that joins.</param>
    /// <param name="runYaml">The run's config for clients, sent to every client that joins.</param>
    /// <param name="log">Server log.</param>
    public GrpcClientPool(ServerSettings server, ServerStore store, IReadOnlyList<string> clientIds, Func<string, int> rankOf, string modelFingerprint, string modelName,
        string runKind, string runYaml, ILogger log)
    {
        _server = server;
        _store = store;
        _clientIds = clientIds;
        _rankOf = rankOf;
        _modelFingerprint = modelFingerprint;
        _modelName = modelName;
        _runKind = runKind;
        _runYaml = runYaml;
        _log = log;
        _presence = new Presence(TimeSpan.FromSeconds(server.HeartbeatSeconds));
    }

    public IReadOnlyList<string> ClientIds => _clientIds;

    /// <summary>Tells every polling client that the run is over.</summary>
    public void MarkFinished()
    {
        lock (_gate) _finished = true;
        Signal();
    }

    // ---- the driver's side ---------------------------------------------------------------------------------------

    public async Task<IReadOnlyList<string>> AvailableAsync(int round, CancellationToken ct)
    {
        lock (_gate) _round = round;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(_server.WaitTimeoutSeconds);
        var lastLog = DateTime.MinValue;
        while (true)
        {
            var alive = _clientIds.Where(_presence.IsAlive).ToList();
            if (alive.Count >= _server.MinAvailableClients) return alive;
            if (DateTime.UtcNow > until)
                throw new RunStoppedException($"round {round}: only {alive.Count} of min_available_clients {_server.MinAvailableClients} clients connected within wait_timeout_s {_server.WaitTimeoutSeconds}. Start more clients, then restart the server.");
            if (DateTime.UtcNow - lastLog > TimeSpan.FromSeconds(30))
            {
                _log.LogInformation("Round {Round}: waiting for clients ({Alive} of {Needed} connected)", round, alive.Count, _server.MinAvailableClients);
                lastLog = DateTime.UtcNow;
            }
            await WaitForChange(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
        }
    }

    public IReadOnlyList<string> ReachableNow() => [.. _clientIds.Where(_presence.IsAlive)];

    public async Task<ExchangeResult> ExchangeAsync(Exchange exchange, CancellationToken ct)
    {
        var kind = exchange.Kind switch { TaskKind.Train => "t", TaskKind.Setup => "s", _ => "e" };
        var step = exchange.Step.Length > 0 ? "-" + exchange.Step : "";
        var open = new OpenExchange(exchange, $"{exchange.Round}.{kind}{exchange.Attempt}{step}.{_processNonce}", DateTime.UtcNow + TimeSpan.FromSeconds(_server.RoundDeadlineSeconds));
        lock (_gate)
        {
            _open = open;
            _round = exchange.Round;
        }
        Signal();
        IReadOnlyList<ClientTiming> timings;
        try
        {
            await WaitForRepliesAsync(open, ct).ConfigureAwait(false);
        }
        finally
        {
            timings = open.Clock?.Close(exchange.Tasks) ?? [];
            await open.CloseAsync().ConfigureAwait(false);
            Signal();
        }
        lock (_gate)
        {
            // Replies in ascending client order; a client dropped while its reply was being admitted stays dropped.
            var replies = open.Received.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value).ToList();
            var dropped = open.Dropped.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => new DroppedClient(d.Key, d.Value)).ToList();
            return new ExchangeResult(replies, dropped) { Timings = timings };
        }
    }

    private async Task WaitForRepliesAsync(OpenExchange open, CancellationToken ct)
    {
        while (true)
        {
            lock (_gate)
            {
                var now = DateTime.UtcNow;
                var deadlinePassed = now > open.DeadlineUtc;
                foreach (var id in open.Outstanding.ToList())
                {
                    string reason;
                    if (open.Receiving.TryGetValue(id, out var lastFrame))
                    {
                        // An upload counts as life only while its data flows.
                        if (now - lastFrame <= _presence.Timeout) continue;
                        reason = $"its upload stalled (no data for {_presence.Timeout.TotalSeconds:0.#} s)";
                    }
                    else if (deadlinePassed)
                    {
                        reason = $"missed the round deadline ({_server.RoundDeadlineSeconds} s)";
                        open.Clock?.MissedDeadline(id);
                    }
                    else if (!_presence.IsAlive(id)) reason = $"went silent (no call for {_presence.Timeout.TotalSeconds:0.#} s)";
                    else continue;
                    open.Dropped[id] = reason;
                    _log.LogWarning("Round {Round}: dropped {Client}: {Reason}", open.Round, id, reason);
                }
                // An upload still arriving at the deadline gets one more heartbeat timeout, then the exchange closes anyway.
                var graceOver = now > open.DeadlineUtc + _presence.Timeout;
                if (!open.Outstanding.Any() || (deadlinePassed && (open.Receiving.Count == 0 || graceOver))) return;
            }
            await WaitForChange(TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false);
        }
    }

    // ---- the gRPC side -------------------------------------------------------------------------------------------

    public JoinReply Join(string clientId, JoinRequest request)
    {
        if (request.ProtocolVersion != ProtocolInfo.Version)
            throw Refuse(StatusCode.FailedPrecondition, clientId, $"speaks protocol {request.ProtocolVersion}, this server {ProtocolInfo.Version}; install the same Confer version on both.");
        if (request.ModelFingerprint != _modelFingerprint)
            throw Refuse(StatusCode.FailedPrecondition, clientId, $"its base model (sha256 {Short(request.ModelFingerprint)}) differs from the server's '{_modelName}' (sha256 {Short(_modelFingerprint)}); give the client the same model folder.");
        if (!_clientIds.Contains(clientId, StringComparer.Ordinal))
            throw Refuse(StatusCode.FailedPrecondition, clientId, "was enrolled after this run started; it can join once the server restarts.");
        var rank = _rankOf(clientId);
        if (request.LoraRank != 0 && request.LoraRank != rank)
            throw Refuse(StatusCode.FailedPrecondition, clientId, $"declares lora_r {request.LoraRank} but this run trains it at rank {rank}; set lora_r: {rank} or leave it out.");
        // Joining is not yet being available: the client now prepares its data and model, and counts as connected
        // from its first poll, so a slow start is not mistaken for a crash.
        _log.LogInformation("Client {Client} joined (max_local_steps {Budget})", clientId, request.MaxLocalSteps);
        Signal();
        return new JoinReply
        {
            ClientId = clientId, ProtocolVersion = ProtocolInfo.Version, RunConfigYaml = _runYaml, RunKind = _runKind, HeartbeatSeconds = (int)Math.Ceiling(_server.HeartbeatSeconds),
        };
    }

    public async Task<PollReply> PollAsync(string clientId, int waitSeconds, CancellationToken ct)
    {
        _presence.PollStarted(clientId);
        try
        {
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(Math.Clamp(waitSeconds, 0, 60));
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    if (_finished) return new PollReply { Kind = PollReply.Types.Kind.Finished, Round = _round };
                    if (_open is { Closed: false } open && open.AwaitsUpload(clientId))
                        return new PollReply { Kind = PollReply.Types.Kind.Task, Round = open.Round, TaskId = open.TaskId };
                    changed = _changed.Task;
                }
                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return new PollReply { Kind = PollReply.Types.Kind.Idle, Round = _round };
                await WaitAsync(changed, left, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            // A poll cancelled by its caller means the connection went away: a crash is noticed now, not after the timeout.
            _presence.PollEnded(clientId, connectionLost: ct.IsCancellationRequested);
        }
    }

    public bool Heartbeat(string clientId, string taskId)
    {
        _presence.Seen(clientId);
        lock (_gate)
            return _open is { Closed: false } open && open.TaskId == taskId && open.IsSelected(clientId) && !open.Dropped.ContainsKey(clientId);
    }

    /// <summary>
    /// Streams the client's task of the open exchange to <paramref name="send"/>. The exchange does not close under a
    /// download: closing cancels it and waits for it to end.
    /// </summary>
    public async Task SendTaskAsync(string clientId, string taskId, Func<OpenExchange, ClientTask, CancellationToken, Task> send, CancellationToken ct)
    {
        _presence.Seen(clientId);
        OpenExchange open;
        lock (_gate)
        {
            if (_open is not { } current || current.TaskId != taskId || !current.IsSelected(clientId))
                throw Refuse(StatusCode.FailedPrecondition, clientId, $"task '{taskId}' is not open (the round closed or the server restarted); poll again.");
            if (current.Dropped.TryGetValue(clientId, out var why))
                throw Refuse(StatusCode.FailedPrecondition, clientId, $"was dropped from round {current.Round}: {why}");
            if (!current.TryBeginActivity()) throw Refuse(StatusCode.FailedPrecondition, clientId, $"round {current.Round} has closed; poll again.");
            open = current;
        }
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, open.Closing);
            open.Clock?.DownloadStarted(clientId);
            await send(open, open.Task(clientId), linked.Token).ConfigureAwait(false);
            open.Clock?.Delivered(clientId);
        }
        finally
        {
            open.EndActivity();
        }
    }

    /// <summary>
    /// Receives one reply, runs it through the driver's admit function and keeps it. Anything wrong — a closed or
    /// unknown task, a duplicate, a truncated, stalled or corrupted stream, a refused update — is refused with a gRPC
    /// status naming the client and the reason; a refused reply drops its client from the exchange and never touches
    /// the global model.
    /// </summary>
    public async Task<string> ReceiveReplyAsync(string clientId, IAsyncStreamReader<UpdateMessage> stream, CancellationToken ct)
    {
        _presence.Seen(clientId);
        var header = await TensorStreams.ReceiveUpdateHeaderAsync(stream, ct).ConfigureAwait(false)
                     ?? throw Refuse(StatusCode.InvalidArgument, clientId, "an update must start with its header.");
        OpenExchange open;
        lock (_gate)
        {
            if (_open is not { } current || current.TaskId != header.TaskId || !current.IsSelected(clientId))
                throw Refuse(StatusCode.FailedPrecondition, clientId, $"task '{header.TaskId}' is not open (round closed, or the server restarted); update refused.");
            if (current.Received.ContainsKey(clientId) || current.Receiving.ContainsKey(clientId))
                throw Refuse(StatusCode.AlreadyExists, clientId, $"its update for round {current.Round} was already received.");
            if (current.Dropped.TryGetValue(clientId, out var why))
                throw Refuse(StatusCode.FailedPrecondition, clientId, $"was dropped from round {current.Round} ({why}); update refused.");
            if (!current.TryBeginActivity()) throw Refuse(StatusCode.FailedPrecondition, clientId, $"round {current.Round} has closed; update refused.");
            current.Receiving[clientId] = DateTime.UtcNow;
            open = current;
        }
        open.Clock?.UploadStarted(clientId);
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, open.Closing);
            var update = await ReadReplyAsync(clientId, header, stream, open, linked.Token).ConfigureAwait(false);
            // Timed as received, before admitting decodes it (and may free the wire tensors): bytes as they travelled.
            // A reply the admission then refuses keeps its timing, as in a simulation: the client did the work.
            open.Clock?.Received(open.Task(clientId), update);
            var admitted = open.Exchange.Admit(update);
            lock (_gate)
            {
                if (!open.Dropped.ContainsKey(clientId))
                {
                    open.Received[clientId] = admitted;
                    admitted = null;
                }
            }
            if (admitted is not null)
            {
                admitted.Adapter.Dispose();
                throw Refuse(StatusCode.FailedPrecondition, clientId, $"was dropped from round {open.Round} while its update was arriving ({open.Dropped[clientId]}); update refused.");
            }
            _log.LogInformation("Round {Round}: reply from {Client} accepted ({Examples} examples)", open.Round, clientId, header.NumExamples);
            Signal();
            return $"round {open.Round}: update accepted";
        }
        catch (InvalidClientUpdateException e)
        {
            Drop(open, clientId, e.Reason);
            _store.LogEvent("update_rejected", clientId, $"round {open.Round}: {e.Reason}");
            throw Refuse(StatusCode.InvalidArgument, clientId, $"round {open.Round}: {e.Reason}; the round goes on without this update.");
        }
        catch (Exception e) when (e is IOException or OperationCanceledException || (e is RpcException r && r.StatusCode == StatusCode.Cancelled))
        {
            // Answered with a status rather than left to escape: gRPC would log an escaped exception with its stack.
            if (ct.IsCancellationRequested || !open.Closing.IsCancellationRequested)
            {
                Drop(open, clientId, "its upload broke off (truncated stream)");
                throw new RpcException(new Status(StatusCode.Cancelled, $"client '{clientId}' upload broke off"));
            }
            Drop(open, clientId, "the round closed while its upload was arriving");
            throw Refuse(StatusCode.FailedPrecondition, clientId, $"round {open.Round} closed while its update was arriving ({open.Dropped[clientId]}); update refused.");
        }
        catch (Exception e) when (e is not RpcException)
        {
            // Whatever a reply triggers, it costs only its sender's place in the round, never the server.
            var reason = $"its update could not be processed ({e.GetType().Name}: {e.Message})";
            Drop(open, clientId, reason);
            _store.LogEvent("update_rejected", clientId, $"round {open.Round}: {reason}");
            throw Refuse(StatusCode.InvalidArgument, clientId, $"round {open.Round}: {reason}; the round goes on without this update.");
        }
        finally
        {
            lock (_gate) open.Receiving.Remove(clientId);
            open.EndActivity();
            Signal();
        }
    }

    private async Task<ClientUpdate> ReadReplyAsync(string clientId, UpdateHeader header, IAsyncStreamReader<UpdateMessage> stream, OpenExchange open, CancellationToken ct)
    {
        if (header.Round != open.Round) throw new InvalidClientUpdateException(clientId, $"header says round {header.Round}, the task is for round {open.Round}");
        NamedTensors tensors;
        try
        {
            tensors = await TensorStreams.ReceiveUpdateTensorsAsync(stream, header, (long)_server.MaxUpdateMb << 20, () =>
            {
                _presence.Seen(clientId);
                lock (_gate) open.Receiving[clientId] = DateTime.UtcNow;
            }, ct).ConfigureAwait(false);
        }
        catch (TensorStreamException e)
        {
            throw new InvalidClientUpdateException(clientId, e.Message.TrimEnd('.'));
        }
        return new ClientUpdate(clientId, tensors, header.NumExamples, header.Metrics.ToDictionary()) { Codec = header.Codec };
    }

    // ---- for the status view -------------------------------------------------------------------------------------

    /// <summary>Who is connected and, while an exchange is open, who was asked, has replied or was dropped.</summary>
    public PoolSnapshot Snapshot()
    {
        lock (_gate)
        {
            var open = _open is { Closed: false } o ? o : null;
            return new PoolSnapshot(
                _clientIds.Count, [.. _clientIds.Where(_presence.IsAlive)],
                open is null ? [] : [.. open.Selected.Order(StringComparer.Ordinal)],
                open is null ? [] : [.. open.Received.Keys.Order(StringComparer.Ordinal)],
                open is null ? new Dictionary<string, string>() : new Dictionary<string, string>(open.Dropped),
                open is null ? null : Math.Max(0, (open.DeadlineUtc - DateTime.UtcNow).TotalSeconds),
                open is null ? null : $"{open.Exchange.Kind.ToString().ToLowerInvariant()}{(open.Exchange.Step.Length > 0 ? ":" + open.Exchange.Step : "")}");
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private void Drop(OpenExchange open, string clientId, string reason)
    {
        bool added;
        lock (_gate) added = !open.Received.ContainsKey(clientId) && open.Dropped.TryAdd(clientId, reason);
        if (added) _log.LogWarning("Round {Round}: dropped {Client}: {Reason}", open.Round, clientId, reason);
        Signal();
    }

    private void Signal()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _changed;
            _changed = NewSignal();
        }
        old.TrySetResult();
    }

    private async Task WaitForChange(TimeSpan max, CancellationToken ct)
    {
        Task changed;
        lock (_gate) changed = _changed.Task;
        await WaitAsync(changed, max, ct).ConfigureAwait(false);
    }

    /// <summary>Until <paramref name="changed"/> completes or <paramref name="max"/> passes; <c>WaitAsync</c> disposes its timer either way.</summary>
    private static async Task WaitAsync(Task changed, TimeSpan max, CancellationToken ct)
    {
        await changed.WaitAsync(max, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        ct.ThrowIfCancellationRequested();
    }

    private RpcException Refuse(StatusCode code, string clientId, string message)
    {
        var text = $"client '{clientId}' {message}";
        if (code != StatusCode.AlreadyExists) _log.LogWarning("Refused: {Message}", text);
        return new RpcException(new Status(code, text));
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
}

/// <summary>The gate's state at one moment, for <c>/status</c>.</summary>
internal sealed record PoolSnapshot(int Enrolled, IReadOnlyList<string> Connected, IReadOnlyList<string> Selected, IReadOnlyList<string> Returned,
    IReadOnlyDictionary<string, string> Dropped, double? DeadlineSeconds, string? Exchange);
