using System.Diagnostics;
using System.Text.Json.Nodes;
using Confer.Configuration;
using Confer.Federation.Scheduling;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace Confer.Federation.Deployment;

/// <summary>
/// The deployed server's round loop: the same <see cref="Strategy"/>, scheduler and aggregation as
/// <c>confer simulate</c>, driven by clients that come and go. A round selects among the clients that are alive,
/// issues their tasks, waits until each has returned, gone silent or missed the deadline, aggregates what arrived,
/// and commits the result (safetensors, then one SQLite transaction) before the next round starts — so a server
/// killed at any moment restarts from its last committed round. Every public method is safe to call from gRPC
/// threads: round bookkeeping is guarded by <see cref="_gate"/> (held briefly), the strategy and model by
/// <see cref="_strategyLock"/> (held for aggregation, evaluation and checkpoints, which polls never wait for).
/// </summary>
internal sealed class RoundCoordinator
{
    private const string FinishedKey = "finished_utc";

    private readonly SimulationSettings _run;
    private readonly ServerSettings _server;
    private readonly ServerStore _store;
    private readonly Strategy _strategy;
    private readonly IClientScheduler _scheduler;
    private readonly IReadOnlyList<string> _clientIds;
    private readonly GlobalModel _model;
    private readonly ILogger _log;
    private readonly Presence _presence;
    private readonly string _modelFingerprint;
    private readonly string _runYaml;
    private readonly string _processNonce = Guid.NewGuid().ToString("N")[..8];
    private readonly object _gate = new();
    private readonly object _strategyLock = new();
    private TaskCompletionSource _changed = NewSignal();
    private OpenRound? _open;
    private string _phase = "starting";
    private int _round;

    public RoundCoordinator(SimulationSettings run, ServerSettings server, ServerStore store, Strategy strategy, IReadOnlyList<string> clientIds,
        GlobalModel model, string modelFingerprint, ILogger log)
    {
        _run = run;
        _server = server;
        _store = store;
        _strategy = strategy;
        _clientIds = clientIds;
        _model = model;
        _modelFingerprint = modelFingerprint;
        _log = log;
        _presence = new Presence(TimeSpan.FromSeconds(server.HeartbeatSeconds));
        _scheduler = SchedulerRegistry.Create(run.Scheduler, new SchedulingOptions { Fraction = run.Fraction, MinClients = run.MinClients, Seed = run.Seed });
        _runYaml = ConfigBinder.ToYaml(run);
    }

    public bool Finished { get; private set; }

    // ---- called by the gRPC service -------------------------------------------------------------------------

    public JoinReply Join(string clientId, JoinRequest request)
    {
        if (request.ProtocolVersion != ProtocolInfo.Version)
            throw Refuse(StatusCode.FailedPrecondition, clientId, $"speaks protocol {request.ProtocolVersion}, this server {ProtocolInfo.Version}; install the same Confer version on both.");
        if (request.ModelFingerprint != _modelFingerprint)
            throw Refuse(StatusCode.FailedPrecondition, clientId, $"its base model (sha256 {Short(request.ModelFingerprint)}) differs from the server's '{_run.Model}' (sha256 {Short(_modelFingerprint)}); give the client the same model folder.");
        if (!_clientIds.Contains(clientId, StringComparer.Ordinal))
            throw Refuse(StatusCode.FailedPrecondition, clientId, "was enrolled after this run started; it can join once the server restarts.");
        var rank = _strategy.RankOf(clientId);
        if (request.LoraRank != 0 && request.LoraRank != rank)
            throw Refuse(StatusCode.FailedPrecondition, clientId, $"declares lora_r {request.LoraRank} but this run trains it at rank {rank}; set lora_r: {rank} or leave it out.");
        // Joining is not yet being available: the client now prepares its data and model, and counts as connected
        // from its first poll, so a slow start is not mistaken for a crash.
        _log.LogInformation("Client {Client} joined (max_local_steps {Budget})", clientId, request.MaxLocalSteps);
        Signal();
        return new JoinReply
        {
            ClientId = clientId, ProtocolVersion = ProtocolInfo.Version, RunConfigYaml = _runYaml, HeartbeatSeconds = (int)Math.Ceiling(_server.HeartbeatSeconds),
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
                    if (Finished) return new PollReply { Kind = PollReply.Types.Kind.Finished, Round = _round };
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

    /// <summary>The open round and this client's task, kept alive until <see cref="OpenRound.Release"/>.</summary>
    public (OpenRound Round, ClientTask Task) AcquireTask(string clientId, string taskId)
    {
        _presence.Seen(clientId);
        lock (_gate)
        {
            if (_open is not { } open || open.TaskId != taskId || !open.IsSelected(clientId))
                throw Refuse(StatusCode.FailedPrecondition, clientId, $"task '{taskId}' is not open (the round closed or the server restarted); poll again.");
            if (open.Dropped.TryGetValue(clientId, out var why))
                throw Refuse(StatusCode.FailedPrecondition, clientId, $"was dropped from round {open.Round}: {why}");
            if (!open.TryAcquire()) throw Refuse(StatusCode.FailedPrecondition, clientId, $"round {open.Round} has closed; poll again.");
            return (open, open.Task(clientId));
        }
    }

    /// <summary>
    /// Receives, checks and keeps one update. Anything wrong — a closed or unknown task, a duplicate, a truncated or
    /// corrupted stream, wrong names/shapes/dtypes, NaN/∞, a change above <c>max_update_norm</c> — is refused with a
    /// gRPC status naming the client, the tensor and the reason; a refused update drops its client from the round and
    /// never touches the global model.
    /// </summary>
    public async Task<string> ReceiveUpdateAsync(string clientId, IAsyncStreamReader<UpdateMessage> stream, CancellationToken ct)
    {
        _presence.Seen(clientId);
        var header = await TensorStreams.ReceiveUpdateHeaderAsync(stream, ct).ConfigureAwait(false)
                     ?? throw Refuse(StatusCode.InvalidArgument, clientId, "an update must start with its header.");
        OpenRound round;
        lock (_gate)
        {
            if (_open is not { } open || open.TaskId != header.TaskId || !open.IsSelected(clientId))
                throw Refuse(StatusCode.FailedPrecondition, clientId, $"task '{header.TaskId}' is not open (round closed, or the server restarted); update refused.");
            if (open.Received.ContainsKey(clientId) || open.Receiving.Contains(clientId))
                throw Refuse(StatusCode.AlreadyExists, clientId, $"its update for round {open.Round} was already received.");
            if (open.Dropped.TryGetValue(clientId, out var why))
                throw Refuse(StatusCode.FailedPrecondition, clientId, $"was dropped from round {open.Round} ({why}); update refused.");
            if (!open.TryAcquire()) throw Refuse(StatusCode.FailedPrecondition, clientId, $"round {open.Round} has closed; update refused.");
            open.Receiving.Add(clientId);
            round = open;
        }
        ClientUpdate? update = null;
        try
        {
            update = await ReadUpdate(clientId, header, stream, round, ct).ConfigureAwait(false);
            lock (_gate)
            {
                if (round.Closed)
                    throw Refuse(StatusCode.FailedPrecondition, clientId, $"round {round.Round} closed while its update was arriving; update refused.");
                round.Received[clientId] = update;
                update = null;
            }
            _log.LogInformation("Round {Round}: update from {Client} accepted ({Examples} examples)", round.Round, clientId, header.NumExamples);
            Signal();
            return $"round {round.Round}: update accepted";
        }
        catch (UpdateRejected e)
        {
            var reason = e.Message.TrimEnd('.');
            Drop(round, clientId, reason);
            _store.LogEvent("update_rejected", clientId, $"round {round.Round}: {reason}");
            throw Refuse(StatusCode.InvalidArgument, clientId, $"round {round.Round}: {reason}; the round goes on without this update.");
        }
        catch (Exception e) when (e is IOException or OperationCanceledException || (e is RpcException r && r.StatusCode == StatusCode.Cancelled))
        {
            Drop(round, clientId, "its upload broke off (truncated stream)");
            throw;
        }
        finally
        {
            lock (_gate) round.Receiving.Remove(clientId);
            update?.Adapter.Dispose();
            round.Release();
        }
    }

    private async Task<ClientUpdate> ReadUpdate(string clientId, UpdateHeader header, IAsyncStreamReader<UpdateMessage> stream, OpenRound round, CancellationToken ct)
    {
        if (header.Round != round.Round) throw new UpdateRejected($"header says round {header.Round}, the task is for round {round.Round}");
        if (header.NumExamples < 1) throw new UpdateRejected($"num_examples is {header.NumExamples}; a client that trained on nothing must not send an update");
        foreach (var (key, value) in header.Metrics)
            if (!double.IsFinite(value)) throw new UpdateRejected($"metric '{key}' is {value}");
        NamedTensors tensors;
        try
        {
            tensors = await TensorStreams.ReceiveUpdateTensorsAsync(stream, header, (long)_server.MaxUpdateMb << 20, ct).ConfigureAwait(false);
        }
        catch (TensorStreamException e)
        {
            throw new UpdateRejected(e.Message);
        }
        var update = new ClientUpdate(clientId, tensors, header.NumExamples, header.Metrics.ToDictionary());
        try
        {
            lock (_strategyLock) _strategy.CheckUpdate(update);
            if (UpdateNormBound.Violation(update.Adapter, round.Task(clientId).Adapter, _server.MaxUpdateNorm) is { } violation)
                throw new UpdateRejected(violation);
            return update;
        }
        catch (InvalidClientUpdateException e)
        {
            update.Adapter.Dispose();
            throw new UpdateRejected(e.Reason);
        }
        catch (UpdateRejected)
        {
            update.Adapter.Dispose();
            throw;
        }
    }

    // ---- the round loop --------------------------------------------------------------------------------------

    /// <summary>Runs from the round after the last committed one to the end of the run.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        if (_store.GetMeta(FinishedKey) is not null)
        {
            lock (_gate) Finished = true;
            SetPhase("finished", _run.Rounds);
            _log.LogInformation("The run already finished; telling clients so");
            return;
        }
        var first = _store.LastCompletedRound() + 1;
        if (first > 1) _log.LogInformation("Resuming after round {Round} (state in {State})", first - 1, _server.State);
        for (var round = first; round <= _run.Rounds; round++) await RunRoundAsync(round, ct).ConfigureAwait(false);
        SetPhase("exporting");
        lock (_strategyLock) StrategySetup.ExportFinal(Path.Combine(_server.State, "final"), _strategy, _run, _model.ClientModel);
        _store.SetMeta(FinishedKey, DateTime.UtcNow.ToString("O"));
        lock (_gate) Finished = true;
        SetPhase("finished");
        _log.LogInformation("Run finished after round {Round}; global adapter in {Folder}", _run.Rounds, Path.Combine(_server.State, "final", "adapter"));
    }

    private async Task RunRoundAsync(int round, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var clock = Stopwatch.StartNew();
            var available = await WaitForClientsAsync(round, ct).ConfigureAwait(false);
            var selected = _scheduler.Select(round, available.Select(id => new ClientProfile(id)).ToList());
            var open = Open(round, attempt, selected);
            _log.LogInformation("Round {Round} (attempt {Attempt}): selected {Clients} of {Available} connected", round, attempt, string.Join(", ", selected), available.Count);
            await WaitForUpdatesAsync(open, ct).ConfigureAwait(false);
            List<ClientUpdate> updates;
            lock (_gate)
            {
                open.Close();
                updates = [.. open.Received.Values];
            }
            try
            {
                if (updates.Count >= _server.MinReturned)
                {
                    Complete(open, updates, clock.Elapsed.TotalSeconds);
                    return;
                }
            }
            finally
            {
                foreach (var u in updates) u.Adapter.Dispose();
            }
            var why = $"round {round} attempt {attempt}: {updates.Count} update(s) arrived, min_returned is {_server.MinReturned} (dropped: {Describe(open.Dropped)})";
            _store.LogEvent("short_round", null, why);
            if (_server.OnShortRound == "fail" || attempt >= _server.MaxRoundAttempts)
                throw new FederationServerException($"{why}; stopping (on_short_round: {_server.OnShortRound}, max_round_attempts: {_server.MaxRoundAttempts}). Restart the same command to retry from round {round}.");
            _log.LogWarning("{Why}; retrying", why);
        }
    }

    private async Task<IReadOnlyList<string>> WaitForClientsAsync(int round, CancellationToken ct)
    {
        SetPhase("waiting for clients", round);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(_server.WaitTimeoutSeconds);
        var lastLog = DateTime.MinValue;
        while (true)
        {
            var alive = _clientIds.Where(_presence.IsAlive).ToList();
            if (alive.Count >= _server.MinAvailableClients) return alive;
            if (DateTime.UtcNow > until)
                throw new FederationServerException($"round {round}: only {alive.Count} of min_available_clients {_server.MinAvailableClients} clients connected within wait_timeout_s {_server.WaitTimeoutSeconds}. Start more clients, then restart the server.");
            if (DateTime.UtcNow - lastLog > TimeSpan.FromSeconds(30))
            {
                _log.LogInformation("Round {Round}: waiting for clients ({Alive} of {Needed} connected)", round, alive.Count, _server.MinAvailableClients);
                lastLog = DateTime.UtcNow;
            }
            await WaitForChange(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
        }
    }

    private OpenRound Open(int round, int attempt, IReadOnlyList<string> selected)
    {
        OpenRound open;
        lock (_strategyLock)
        {
            var tasks = _strategy.ConfigureTrain(round, selected);
            var baseDelta = _strategy.MergedDelta.Count > 0 ? _strategy.MergedDelta.Clone() : null;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(_server.RoundDeadlineSeconds);
            open = new OpenRound(round, attempt, $"{round}.{attempt}.{_processNonce}", tasks, baseDelta, deadline);
        }
        lock (_gate)
        {
            _open = open;
            _round = round;
            _phase = "training";
        }
        Signal();
        return open;
    }

    private async Task WaitForUpdatesAsync(OpenRound open, CancellationToken ct)
    {
        while (true)
        {
            lock (_gate)
            {
                var deadlinePassed = DateTime.UtcNow > open.DeadlineUtc;
                foreach (var id in open.Outstanding.ToList())
                {
                    if (open.Receiving.Contains(id)) continue;
                    if (deadlinePassed) open.Dropped[id] = $"missed the round deadline ({_server.RoundDeadlineSeconds} s)";
                    else if (!_presence.IsAlive(id)) open.Dropped[id] = $"went silent (no call for {_presence.Timeout.TotalSeconds:0.#} s)";
                    else continue;
                    _log.LogWarning("Round {Round}: dropped {Client}: {Reason}", open.Round, id, open.Dropped[id]);
                }
                // An upload still arriving at the deadline gets one more heartbeat timeout, then the round closes anyway.
                var graceOver = DateTime.UtcNow > open.DeadlineUtc + _presence.Timeout;
                if (!open.Outstanding.Any() || (deadlinePassed && (open.Receiving.Count == 0 || graceOver))) return;
            }
            await WaitForChange(TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false);
        }
    }

    private void Complete(OpenRound open, List<ClientUpdate> updates, double seconds)
    {
        SetPhase("aggregating", open.Round);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var dropped = open.Dropped.Select(d => new DroppedClient(d.Key, d.Value)).ToList();
        RoundSummary summary;
        lock (_strategyLock)
        {
            (summary, _) = RoundAggregator.Aggregate(_strategy, open.Round, updates, (client, reason) =>
            {
                dropped.Add(new DroppedClient(client, reason));
                _log.LogWarning("Round {Round}: dropped update of {Client}: {Reason}", open.Round, client, reason);
            });
            foreach (var (k, v) in summary.Metrics) metrics[k] = v;
            if (_server.EvalEvery > 0 && _model.CanEvaluate && (open.Round % _server.EvalEvery == 0 || open.Round == _run.Rounds))
            {
                var eval = _model.Evaluate(_strategy);
                metrics["global_loss"] = eval.MeanLoss;
                metrics["global_perplexity"] = eval.Perplexity;
            }
            StrategySetup.WriteCheckpoint(RoundFolder(_server.State, open.Round), _strategy, _run);
        }
        _store.CommitRound(new CompletedRound(open.Round, [.. open.Selected.Order(StringComparer.Ordinal)], summary.ClientIds, dropped, metrics, seconds, DateTime.UtcNow));
        _log.LogInformation("Round {Round} committed: {Returned} of {Selected} returned, metrics {Metrics}", open.Round, summary.ClientIds.Count, open.Selected.Count,
            string.Join(", ", metrics.Select(m => $"{m.Key}={m.Value:G5}")));
    }

    /// <summary>Where round <paramref name="round"/>'s strategy state and global adapter are kept.</summary>
    public static string RoundFolder(string state, int round) => Path.Combine(state, "rounds", $"round-{round:D4}");

    // ---- status ------------------------------------------------------------------------------------------------

    public JsonObject Status()
    {
        var rounds = _store.Rounds();
        lock (_gate)
        {
            var open = _open is { Closed: false } o ? o : null;
            var status = new JsonObject
            {
                ["run"] = _run.Name, ["strategy"] = _run.Strategy, ["phase"] = _phase, ["round"] = _round, ["rounds"] = _run.Rounds,
                ["completed_rounds"] = rounds.Count, ["finished"] = Finished,
                ["clients"] = new JsonObject
                {
                    ["enrolled"] = _clientIds.Count,
                    ["connected"] = Ids(_clientIds.Where(_presence.IsAlive)),
                    ["selected"] = Ids(open is null ? [] : open.Selected.Order(StringComparer.Ordinal)),
                    ["returned"] = Ids(open is null ? [] : open.Received.Keys.Order(StringComparer.Ordinal)),
                    ["dropped"] = new JsonObject(open?.Dropped.Select(d => KeyValuePair.Create(d.Key, (JsonNode?)d.Value)) ?? []),
                },
            };
            if (open is not null) status["deadline_s"] = Math.Max(0, (open.DeadlineUtc - DateTime.UtcNow).TotalSeconds);
            if (rounds.Count > 0)
                status["last_round"] = new JsonObject
                {
                    ["round"] = rounds[^1].Round, ["returned"] = Ids(rounds[^1].Returned),
                    ["metrics"] = new JsonObject(rounds[^1].Metrics.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))),
                };
            return status;
        }
    }

    private static JsonArray Ids(IEnumerable<string> ids) => new([.. ids.Select(id => (JsonNode)id)]);

    // ---- helpers -----------------------------------------------------------------------------------------------

    private void Drop(OpenRound round, string clientId, string reason)
    {
        lock (_gate)
            if (!round.Closed && !round.Received.ContainsKey(clientId)) round.Dropped.TryAdd(clientId, reason);
        _log.LogWarning("Round {Round}: dropped {Client}: {Reason}", round.Round, clientId, reason);
        Signal();
    }

    private void SetPhase(string phase, int? round = null)
    {
        lock (_gate)
        {
            _phase = phase;
            if (round is { } r) _round = r;
        }
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

    private static string Describe(Dictionary<string, string> dropped) =>
        dropped.Count == 0 ? "none" : string.Join("; ", dropped.Select(d => $"{d.Key}: {d.Value}"));

    /// <summary>An update refused for its content; the message names the tensor and the reason.</summary>
    private sealed class UpdateRejected(string message) : Exception(message);
}

/// <summary>The server cannot go on (too few clients, too many failed attempts); its state stays at the last committed round.</summary>
internal sealed class FederationServerException(string message) : Exception(message);
