using System.Diagnostics;
using Confer.Configuration;
using Confer.Federation.Messages;
using Confer.Federation.Scheduling;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Peft;
using Confer.Models.Safetensors;

namespace Confer.Federation.Rounds;

/// <summary>
/// The one round loop of Confer, used by <c>confer simulate</c> and <c>confer server</c> alike: select → configure →
/// encode → exchange (deadline, dropouts) → decode and check → aggregate → evaluate → checkpoint → record. How clients
/// are reached is an <see cref="IClientPool"/> (in-process or gRPC), where the record goes an <see cref="IRunStore"/>
/// (run folder or server.db), and every message passes the run's <see cref="MessagePipeline"/> in both directions.
/// A round is committed only after its checkpoint is on disk, so a run stopped at any moment resumes after its last
/// committed round and ends exactly as an uninterrupted one.
/// </summary>
/// <remarks>
/// Thread safety: <see cref="RunAsync"/> runs on one thread, but a deployed pool calls an exchange's admit function
/// from gRPC threads while the round is open. Everything that touches the strategy holds <see cref="_strategyLock"/>.
/// </remarks>
public sealed class RoundDriver
{
    private readonly SimulationSettings _s;
    private readonly Strategy _strategy;
    private readonly IClientScheduler _scheduler;
    private readonly IClientPool _pool;
    private readonly IRunStore _store;
    private readonly ServerModel _server;
    private readonly MessagePipeline _pipeline;
    private readonly RoundPolicy _policy;
    private readonly IRoundProgress _progress;
    private readonly Lock _strategyLock = new();
    private ClientHistory _history = new([]);

    /// <param name="settings">The run's experiment settings (rounds, evaluation cadence, bounds on client reports, checkpoint metadata).</param>
    /// <param name="strategy">An initialised strategy; the driver imports the last committed state into it when resuming.</param>
    /// <param name="scheduler">Chooses each round's participants among the available clients.</param>
    /// <param name="pool">How clients are reached.</param>
    /// <param name="store">Where the run's record and checkpoints go.</param>
    /// <param name="server">The server's model: global evaluation and the final export.</param>
    /// <param name="pipeline">The message stages (codecs …) every task and update passes.</param>
    /// <param name="policy">How many updates a round needs, and what to do when fewer arrive.</param>
    /// <param name="progress">Where phases, warnings and finished rounds are reported.</param>
    public RoundDriver(SimulationSettings settings, Strategy strategy, IClientScheduler scheduler, IClientPool pool, IRunStore store,
        ServerModel server, MessagePipeline pipeline, RoundPolicy policy, IRoundProgress progress)
    {
        _s = settings;
        _strategy = strategy;
        _scheduler = scheduler;
        _pool = pool;
        _store = store;
        _server = server;
        _pipeline = pipeline;
        _policy = policy;
        _progress = progress;
    }

    /// <summary>Runs from the round after the last committed one to the end of the run, then exports the final model.</summary>
    /// <exception cref="RunStoppedException">A round could not gather enough updates within its attempts.</exception>
    public async Task RunAsync(CancellationToken ct)
    {
        if (_store.IsFinished)
        {
            _progress.Phase("finished", _s.Rounds);
            return;
        }
        var last = _store.LastCompletedRound();
        if (last > 0) Resume(last);
        var committed = _store.Rounds();
        _history = new ClientHistory(committed);
        if (!committed.Any(r => r.Round == 0)) RecordStart();
        for (var round = last + 1; round <= _s.Rounds; round++) await RunRoundAsync(round, ct).ConfigureAwait(false);
        _progress.Phase("exporting the final model", _s.Rounds);
        lock (_strategyLock) StrategySetup.ExportFinal(RunLayout.FinalFolder(_store.Folder), _strategy, _s, _server.Model);
        _store.MarkFinished();
        _progress.Phase("finished", _s.Rounds);
    }

    private void Resume(int last)
    {
        var path = RunLayout.StateFile(_store.Folder, last);
        if (!File.Exists(path))
            throw new ConfigException($"'{_store.Folder}': round {last} is committed but {path} is missing; restore it from a backup or start a new run.");
        using var state = SafetensorsFile.Load(path);
        lock (_strategyLock) _strategy.ImportState(state);
        _progress.Phase($"resuming after round {last}", last);
    }

    /// <summary>Round 0: the starting model's evaluation, the reference every later round is compared with.</summary>
    private void RecordStart()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (GlobalEvaluationDue(0)) Evaluate(metrics);
        _store.CommitRound(new RoundRecord(0, [], [], [], 0, metrics, [], [], 0));
    }

    private async Task RunRoundAsync(int round, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var clock = Stopwatch.StartNew();
            _progress.Phase("waiting for clients", round);
            var available = await _pool.AvailableAsync(round, ct).ConfigureAwait(false);
            var plan = _scheduler.Plan(round, [.. available.Select(Profile)]);
            var (result, ledger, selectedIds) = await TrainAsync(round, attempt, plan, ct).ConfigureAwait(false);
            string why;
            try
            {
                if (result.Replies.Count >= _policy.MinReturned)
                {
                    var (summary, refused, failure) = Aggregate(round, result);
                    if (summary is not null)
                    {
                        await FinishRoundAsync(round, selectedIds, summary, result, refused, ledger, clock, ct).ConfigureAwait(false);
                        return;
                    }
                    why = $"round {round} attempt {attempt}: aggregation failed ({failure}); the global state is unchanged";
                }
                else
                {
                    why = $"round {round} attempt {attempt}: {result.Replies.Count} update(s) arrived, min_returned is {_policy.MinReturned} " +
                          $"(dropped: {(result.Dropped.Count == 0 ? "none" : string.Join("; ", result.Dropped.Select(d => $"{d.ClientId}: {d.Reason}")))})";
                }
            }
            finally
            {
                MessageTensors.Release([.. result.Replies]);
            }
            if (_policy.OnShortRound == ShortRoundAction.Fail || attempt >= _policy.MaxAttempts)
                throw new RunStoppedException($"{why}; stopping (on_short_round: {_policy.OnShortRound.ToString().ToLowerInvariant()}, " +
                                              $"max_round_attempts: {_policy.MaxAttempts}). The run stays at round {round - 1}.");
            _progress.Warning($"{why}; retrying");
        }
    }

    /// <summary>A client as the scheduler sees it: what its device declares (the pool) and its timed rounds so far (the record).</summary>
    private ClientProfile Profile(string id) => new(id) { Capabilities = _pool.Capabilities(id), History = _history.Of(id) };

    /// <summary>Configures, encodes and sends the round's training tasks, and gathers the admitted updates.</summary>
    private async Task<(ExchangeResult Result, TrafficLedger Ledger, IReadOnlyList<string> Selected)> TrainAsync(
        int round, int attempt, RoundPlan plan, CancellationToken ct)
    {
        IReadOnlyList<ClientTask> tasks;
        lock (_strategyLock) tasks = _strategy.ConfigureTrain(round, plan.Clients, plan.Ranks);
        var ledger = new TrafficLedger(round);
        var sent = tasks.ToDictionary(t => t.ClientId, StringComparer.Ordinal);
        var wire = new List<ClientTask>(tasks.Count);
        try
        {
            foreach (var task in tasks)
            {
                var encoded = _pipeline.EncodeTask(task);
                wire.Add(encoded);
                ledger.RecordDownlink(task.ClientId, TransferCost.Of(task, encoded));
            }
            _progress.Phase("training", round);
            var exchange = new Exchange(round, attempt, TaskKind.Train, wire, u => AdmitUpdate(u, sent[u.ClientId], ledger));
            var result = await _pool.ExchangeAsync(exchange, ct).ConfigureAwait(false);
            return (result, ledger, [.. tasks.Select(t => t.ClientId)]);
        }
        finally
        {
            foreach (var (encoded, task) in wire.Zip(tasks)) MessageTensors.ReleaseBaseDelta(encoded, task);
            MessageTensors.Release([.. wire, .. tasks]);
        }
    }

    /// <summary>
    /// The driver's gate for one training reply (any thread): count what travelled, bound what the client reports,
    /// decode, check against the task it answers. Takes the reply; returns the decoded update, or throws
    /// <see cref="InvalidClientUpdateException"/> having disposed both.
    /// </summary>
    private ClientUpdate AdmitUpdate(ClientUpdate wire, ClientTask task, TrafficLedger ledger)
    {
        // What travelled counts even when the update is refused; its raw size is known once it decodes.
        var cost = TransferCost.Of(wire.Adapter);
        ClientUpdate? update = null;
        try
        {
            ReportBounds.CheckTraining(wire, _s.MaxClientRecords);
            update = _pipeline.DecodeUpdate(wire, task);
            cost = TransferCost.Of(update.Adapter, wire.Adapter);
            lock (_strategyLock) _strategy.CheckUpdate(update);
            if (UpdateNormBound.Violation(update.Adapter, task.Adapter, _s.MaxUpdateNorm) is { } violation)
                throw new InvalidClientUpdateException(wire.ClientId, violation);
            if (!ReferenceEquals(update.Adapter, wire.Adapter)) wire.Adapter.Dispose();
            return update;
        }
        catch
        {
            MessageTensors.Release(update, wire);
            throw;
        }
        finally
        {
            ledger.RecordUplink(wire.ClientId, cost);
        }
    }

    /// <summary>
    /// Aggregates the admitted updates, dropping any the strategy refuses; on any unexpected error restores the state
    /// from before and returns the reason instead of a summary.
    /// </summary>
    private (RoundSummary? Summary, IReadOnlyList<DroppedClient> Refused, string? Failure) Aggregate(int round, ExchangeResult result)
    {
        var refused = new List<DroppedClient>();
        lock (_strategyLock)
        {
            using var before = _strategy.ExportState();
            try
            {
                var (summary, _) = RoundAggregator.Aggregate(_strategy, round, result.Replies, (client, reason) => refused.Add(new DroppedClient(client, reason)));
                foreach (var d in refused) _progress.Warning($"round {round}: dropped {d.ClientId}: {d.Reason}");
                return (summary, refused, null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A strategy bug or an input no check foresaw must cost the round, never the run or the global state.
                _strategy.ImportState(before);
                return (null, refused, e.Message);
            }
        }
    }

    private async Task FinishRoundAsync(int round, IReadOnlyList<string> selected, RoundSummary summary, ExchangeResult result,
        IReadOnlyList<DroppedClient> refused, TrafficLedger ledger, Stopwatch clock, CancellationToken ct)
    {
        var metrics = new Dictionary<string, double>(summary.Metrics, StringComparer.Ordinal);
        foreach (var (name, value) in result.Metrics) metrics[name] = value;
        if (GlobalEvaluationDue(round))
        {
            _progress.Phase("evaluating", round);
            Evaluate(metrics);
        }
        var evaluations = ClientEvaluationDue(round) ? await EvaluateClientsAsync(round, ct).ConfigureAwait(false) : [];
        _progress.Phase("checkpointing", round);
        lock (_strategyLock) StrategySetup.WriteCheckpoint(RunLayout.RoundFolder(_store.Folder, round), _strategy, _s, _server.Model);
        var record = new RoundRecord(round, selected, summary.ClientIds, [.. result.Dropped, .. refused], summary.TotalExamples, metrics,
            ledger.Entries, evaluations, clock.Elapsed.TotalSeconds) { Timings = result.Timings };
        _store.CommitRound(record);
        _history.Add(record);
        _progress.RoundFinished(record);
    }

    private void Evaluate(Dictionary<string, double> metrics)
    {
        lock (_strategyLock)
            foreach (var (name, value) in _server.Evaluate(_strategy)) metrics[name] = value;
    }

    private bool GlobalEvaluationDue(int round) =>
        _server.CanEvaluate && _s.EvalEvery > 0 && (round % _s.EvalEvery == 0 || round == _s.Rounds);

    private bool ClientEvaluationDue(int round) =>
        round == _s.Rounds || (_s.ClientEvalEvery > 0 && round % _s.ClientEvalEvery == 0);

    /// <summary>
    /// Federated evaluation: every available client evaluates the round's global model on its local test split and
    /// reports its loss. The data never leaves the client; a client without a local test split reports nothing.
    /// </summary>
    private async Task<IReadOnlyList<ClientEvaluation>> EvaluateClientsAsync(int round, CancellationToken ct)
    {
        _progress.Phase("evaluating on clients", round);
        var available = _pool.ReachableNow();
        if (available.Count == 0) return [];
        List<ClientTask> tasks;
        lock (_strategyLock)
        {
            var global = _strategy.GlobalAdapter;
            var rank = LoraKeys.ModulePaths(global.Names).Select(p => (int)global[LoraKeys.A(p)].shape[0]).DefaultIfEmpty(_s.LoraRank).Max();
            // One copy of the global adapter serves every task: evaluation only reads it.
            var adapter = global.Count > 0 ? global.Clone() : null;
            var delta = _strategy.MergedDelta.Count > 0 ? _strategy.MergedDelta : null;
            tasks = [.. available.Order(StringComparer.Ordinal)
                .Select(id => new ClientTask(round, id, adapter, delta, rank, _strategy.GlobalLoraScale * rank) { Kind = TaskKind.Evaluate })];
        }
        var wire = new List<ClientTask>(tasks.Count);
        var sent = tasks.ToDictionary(t => t.ClientId, StringComparer.Ordinal);
        ExchangeResult result;
        try
        {
            wire.AddRange(tasks.Select(_pipeline.EncodeTask));
            result = await _pool.ExchangeAsync(new Exchange(round, 1, TaskKind.Evaluate, wire, u => AdmitEvaluation(u, sent[u.ClientId])), ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var (encoded, task) in wire.Zip(tasks)) MessageTensors.ReleaseBaseDelta(encoded, task);
            MessageTensors.Release([.. wire, .. tasks]);
        }
        foreach (var d in result.Dropped) _progress.Warning($"round {round}: no evaluation from {d.ClientId}: {d.Reason}");
        MessageTensors.Release([.. result.Replies]);
        return [.. result.Replies.Where(r => r.NumExamples > 0).Select(r => new ClientEvaluation(r.ClientId, r.Metrics[MetricNames.LocalLoss], r.NumExamples))];
    }

    private ClientUpdate AdmitEvaluation(ClientUpdate wire, ClientTask task)
    {
        try
        {
            ReportBounds.CheckEvaluation(wire);
            return _pipeline.DecodeUpdate(wire, task);
        }
        catch
        {
            wire.Adapter.Dispose();
            throw;
        }
    }
}
