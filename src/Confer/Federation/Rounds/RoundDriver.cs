using System.Diagnostics;
using Confer.Configuration;
using Confer.Federation.Messages;
using Confer.Federation.Scheduling;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Models.Safetensors;
using Confer.Peft;

namespace Confer.Federation.Rounds;

/// <summary>
/// The one round loop of Confer, used by <c>confer simulate</c> and <c>confer server</c> alike: select → configure →
/// encode → exchange (deadline, dropouts) → decode and check → aggregate → evaluate → checkpoint → record. How clients
/// are reached is an <see cref="IClientPool"/> (in-process or gRPC), where the record goes an <see cref="IRunStore"/>
/// (run folder or server.db), and every message passes the run's <see cref="MessagePipeline"/> in both directions.
/// The training part of a round is the run's <see cref="ITrainingProtocol"/>: one exchange, or secure aggregation's
/// several; before each round the strategy may stop the run when its privacy budget would be exceeded.
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
    private readonly ITrainingProtocol _protocol;
    private readonly RoundServices _services;
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
        _protocol = TrainingProtocols.For(settings);
        _services = new RoundServices(settings, strategy, _strategyLock, pool, pipeline, policy, progress);
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
        for (var round = last + 1; round <= _s.Rounds; round++)
            if (!await RunRoundAsync(round, ct).ConfigureAwait(false)) break;
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

    /// <summary>Runs <paramref name="round"/> to its commit; false when the run must stop before it (privacy budget spent).</summary>
    private async Task<bool> RunRoundAsync(int round, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var clock = Stopwatch.StartNew();
            _progress.Phase("waiting for clients", round);
            var available = await _pool.AvailableAsync(round, ct).ConfigureAwait(false);
            var plan = _scheduler.Plan(round, [.. available.Select(Profile)]);
            string? stop;
            lock (_strategyLock) stop = _strategy.BudgetStop(plan.Clients.Count);
            if (stop is not null)
            {
                _progress.Warning($"round {round}: {stop}; the run ends after round {round - 1}");
                return false;
            }
            var ledger = new TrafficLedger(round);
            var outcome = await _protocol.RunAsync(_services, round, attempt, plan, ledger, ct).ConfigureAwait(false);
            if (outcome.Summary is { } summary)
            {
                await FinishRoundAsync(round, outcome, summary, ledger, clock, ct).ConfigureAwait(false);
                return true;
            }
            var why = $"round {round} attempt {attempt}: {outcome.Failure}";
            if (_policy.OnShortRound == ShortRoundAction.Fail || attempt >= _policy.MaxAttempts)
                throw new RunStoppedException($"{why}; stopping (on_short_round: {_policy.OnShortRound.ToString().ToLowerInvariant()}, " +
                                              $"max_round_attempts: {_policy.MaxAttempts}). The run stays at round {round - 1}.");
            _progress.Warning($"{why}; retrying");
        }
    }

    /// <summary>A client as the scheduler sees it: what its device declares (the pool) and its timed rounds so far (the record).</summary>
    private ClientProfile Profile(string id) => new(id) { Capabilities = _pool.Capabilities(id), History = _history.Of(id) };

    private async Task FinishRoundAsync(int round, TrainingOutcome outcome, RoundSummary summary, TrafficLedger ledger, Stopwatch clock, CancellationToken ct)
    {
        var metrics = new Dictionary<string, double>(summary.Metrics, StringComparer.Ordinal);
        foreach (var (name, value) in outcome.Metrics) metrics[name] = value;
        if (GlobalEvaluationDue(round))
        {
            _progress.Phase("evaluating", round);
            Evaluate(metrics);
        }
        IReadOnlyList<ClientEvaluation> evaluations = [];
        if (ClientEvaluationDue(round))
        {
            var replies = await EvaluateClientsAsync(round, ct).ConfigureAwait(false);
            evaluations = [.. replies.Select(r => new ClientEvaluation(r.ClientId, r.Metrics[MetricNames.LocalLoss], r.NumExamples))];
            foreach (var (name, value) in ClientAccuracy(replies)) metrics[name] = value;
        }
        _progress.Phase("checkpointing", round);
        lock (_strategyLock) StrategySetup.WriteCheckpoint(RunLayout.RoundFolder(_store.Folder, round), _strategy, _s, _server.Model);
        var record = new RoundRecord(round, outcome.Selected, summary.ClientIds, outcome.Dropped, summary.TotalExamples, metrics,
            ledger.Entries, evaluations, clock.Elapsed.TotalSeconds) { Timings = outcome.Timings };
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
    /// The clients' selection accuracy when they report one (a FedCoT discriminator does): each client's
    /// (<c>clients/accuracy/&lt;id&gt;</c>) and their unweighted mean (<c>clients/accuracy</c>, the paper's "Avg").
    /// </summary>
    private static IEnumerable<KeyValuePair<string, double>> ClientAccuracy(IReadOnlyList<ClientUpdate> replies)
    {
        var reported = replies.Where(r => r.Metrics.ContainsKey(MetricNames.Accuracy)).ToList();
        foreach (var r in reported) yield return new(MetricNames.ClientAccuracyOf(r.ClientId), r.Metrics[MetricNames.Accuracy]);
        if (reported.Count > 0) yield return new(MetricNames.ClientAccuracy, reported.Average(r => r.Metrics[MetricNames.Accuracy]));
    }

    /// <summary>
    /// Federated evaluation: every available client evaluates the round's global model on its local test split and
    /// reports its loss (and, for a classifier, its accuracy). The data never leaves the client; a client without a
    /// local test split reports nothing. Returns the checked replies that evaluated something.
    /// </summary>
    private async Task<IReadOnlyList<ClientUpdate>> EvaluateClientsAsync(int round, CancellationToken ct)
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
        return [.. result.Replies.Where(r => r.NumExamples > 0).OrderBy(r => r.ClientId, StringComparer.Ordinal)];
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
