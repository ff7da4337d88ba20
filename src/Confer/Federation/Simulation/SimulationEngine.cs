using System.Diagnostics;
using System.Text.Json.Nodes;
using Confer.Configuration;
using Confer.Data;
using Confer.Federation.Clients;
using Confer.Federation.Scheduling;
using Confer.Federation.Strategies;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Peft;
using Confer.Tokenizers;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Federation.Simulation;

/// <summary>
/// Runs a federated experiment in one process: Shepherd's four parts (client data allocation, participation
/// scheduling, local training, aggregation) around a pluggable <see cref="Strategy"/>, with N virtual clients trained
/// one after another on a single shared model — memory holds one model plus the selected clients' adapters. Every
/// round is checkpointed, so <see cref="Run"/> with <c>resume</c> continues after the last completed round and ends
/// with exactly the result of an uninterrupted run.
/// </summary>
public sealed class SimulationEngine : IDisposable
{
    private readonly SimulationSettings _s;
    private readonly RunFolder _run;
    private readonly ISimulationProgress _progress;
    private readonly TextTokenizer _tokenizer;
    private readonly LlamaForCausalLM _model;
    private readonly ClientModel _clientModel;
    private readonly FederatedData _data;
    private readonly List<FederatedClient> _clients;
    private readonly TrainerOptions _training;

    private SimulationEngine(SimulationSettings settings, RunFolder run, ISimulationProgress progress)
    {
        _s = settings;
        _run = run;
        _progress = progress;
        var device = Runtime.DeviceSelector.Parse(settings.Device);
        if (!Directory.Exists(settings.Model)) throw new ConfigException($"model: folder '{settings.Model}' does not exist.");
        _tokenizer = TextTokenizer.FromPretrained(settings.Model);
        _model = LlamaForCausalLM.FromPretrained(settings.Model, device: device);
        _clientModel = new ClientModel(_model, settings.LoraTargets);
        progress.Phase("allocating and tokenising client data");
        _data = FederatedData.Load(settings, _tokenizer);
        _training = settings.ToTrainerOptions(_tokenizer.PadId ?? 0);
        _clients = _data.Clients.Select(c => new FederatedClient(c.Id, c.Train, _training, settings.LoraDropout, settings.Seed)).ToList();
    }

    /// <summary>Runs (or resumes) the experiment in <paramref name="runFolder"/> and returns its summary.</summary>
    public static SimulationResult Run(SimulationSettings settings, string runFolder, bool resume, ISimulationProgress? progress = null)
    {
        settings.Validate();
        var run = new RunFolder(runFolder);
        var start = resume ? run.LastCompletedRound() + 1 : 1;
        if (!resume && File.Exists(run.CheckpointFile))
            throw new ConfigException($"Run folder '{run.Path}' already holds a run; use --resume to continue it, or choose another name/output.");
        using var engine = new SimulationEngine(settings, run, progress ?? new NullProgress());
        return engine.Execute(start);
    }

    private SimulationResult Execute(int startRound)
    {
        var clock = Stopwatch.StartNew();
        if (startRound == 1) WriteRunDescription();
        else _run.TruncateAfter(startRound - 1, _s.Rounds);
        using var strategy = CreateStrategy();
        var scheduler = SchedulerRegistry.Create(_s.Scheduler, new SchedulingOptions { Fraction = _s.Fraction, MinClients = _s.MinClients, Seed = _s.Seed });
        var profiles = _clients.Select(c => new ClientProfile(c.Id)).ToList();
        if (startRound > 1)
        {
            using var state = Safetensors.Load(Path.Combine(_run.RoundFolder(startRound - 1), "state.safetensors"));
            strategy.ImportState(state);
            _progress.Phase($"resuming after round {startRound - 1}");
        }
        else
        {
            var initial = EvaluateGlobal(strategy);
            _run.Append(RoundLine(new RoundRecord(0, initial.MeanLoss, initial.Perplexity, null, [], 0, 0, 0, []), 0));
        }
        for (var round = startRound; round <= _s.Rounds; round++) RunRound(strategy, scheduler, profiles, round);

        _progress.Phase("final evaluation");
        var final = FinalPhase(strategy);
        _run.WriteMetricsCsv();
        MarkFinished();
        return final with { Seconds = clock.Elapsed.TotalSeconds };
    }

    private void RunRound(Strategy strategy, IClientScheduler scheduler, IReadOnlyList<ClientProfile> profiles, int round)
    {
        var clock = Stopwatch.StartNew();
        var selected = scheduler.Select(round, profiles);
        var tasks = strategy.ConfigureTrain(round, selected);
        var ledger = new TrafficLedger();
        var updates = new List<ClientUpdate>();
        try
        {
            foreach (var task in tasks)
            {
                ledger.RecordDownlink(task);
                var client = _clients.Single(c => c.Id == task.ClientId);
                _progress.TrainingStarted($"round {round}/{_s.Rounds} {client.Id}", new LocalTrainer(_training).TotalSteps(client.TrainData.Count));
                updates.Add(client.Fit(task, _clientModel, _progress.TrainingProgress));
                _progress.TrainingFinished();
            }
            var (summary, dropped) = RoundAggregator.Aggregate(strategy, round, updates,
                (client, reason) => _progress.Phase($"round {round}: dropped update from {client}: {reason}"));
            ledger.RecordUplink(summary);
            var eval = EvaluateGlobal(strategy);
            var (down, up) = ledger.RoundTotals(round);
            var trainLoss = summary.Metrics.TryGetValue("train_loss", out var tl) ? tl : (double?)null;
            var record = new RoundRecord(round, eval.MeanLoss, eval.Perplexity, trainLoss, summary.ClientIds, up.Bytes, down.Bytes, clock.Elapsed.TotalSeconds, dropped);
            if (_s.ClientEvalEvery > 0 && round % _s.ClientEvalEvery == 0 && round < _s.Rounds) EvaluateClients(round);
            Checkpoint(strategy, round);
            _run.AppendTraffic(ledger.Entries);
            _run.Append(RoundLine(record, summary.TotalExamples, up.Parameters, down.Parameters));
            _run.MarkRoundComplete(round);
            _progress.RoundFinished(record);
        }
        finally
        {
            foreach (var u in updates) u.Adapter.Dispose();
        }
    }

    private Strategy CreateStrategy() => StrategySetup.Create(_s, _clientModel, _clients.Select(c => c.Id).ToList());

    private LossReport EvaluateGlobal(Strategy strategy)
    {
        _clientModel.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        return Evaluator.EvaluateLoss(_model, _data.GlobalTest, _s.EvalBatchSize, _tokenizer.PadId ?? 0);
    }

    private void Checkpoint(Strategy strategy, int round) => StrategySetup.WriteCheckpoint(_run.RoundFolder(round), strategy, _s);

    private SimulationResult FinalPhase(Strategy strategy)
    {
        var fed = EvaluateGlobal(strategy);
        EvaluateClients(_s.Rounds);
        StrategySetup.ExportFinal(_run.FinalFolder, strategy, _s, _clientModel);
        var clientSteps = _run.ReadMetrics().Where(m => m["kind"]!.GetValue<string>() == "round")
            .Sum(m => m["clients"]!.AsArray().Count) * (_s.LocalSteps > 0 ? _s.LocalSteps : 0);
        var baselines = new Baselines(_s, _clientModel, _data, _training, _tokenizer.PadId ?? 0, _progress, clientSteps);
        double? localMean = null, central = null;
        if (_s.Baselines.Contains("local"))
        {
            var results = baselines.LocalOnly();
            foreach (var r in results)
                _run.Append(new JsonObject { ["kind"] = "baseline", ["name"] = "local", ["client"] = r.ClientId, ["global_loss"] = r.GlobalLoss, ["local_loss"] = r.LocalLoss });
            localMean = results.Average(r => r.GlobalLoss);
        }
        if (_s.Baselines.Contains("centralized"))
        {
            central = baselines.Centralized();
            _run.Append(new JsonObject { ["kind"] = "baseline", ["name"] = "centralized", ["global_loss"] = central });
        }
        var rounds = _run.ReadMetrics().Where(m => m["kind"]!.GetValue<string>() == "round").ToList();
        return new SimulationResult(_run.Path, _s.Strategy, fed.MeanLoss, fed.Perplexity,
            rounds.First()["global_loss"]!.GetValue<double>(), localMean, central,
            rounds.Sum(m => m["bytes_up"]!.GetValue<long>()), rounds.Sum(m => m["bytes_down"]!.GetValue<long>()), 0);
    }

    /// <summary>The global model (already applied) on each client's local test split.</summary>
    private void EvaluateClients(int round)
    {
        foreach (var c in _data.Clients.Where(c => c.LocalTest.Count > 0))
        {
            var local = Evaluator.EvaluateLoss(_model, c.LocalTest, _s.EvalBatchSize, _tokenizer.PadId ?? 0);
            _run.Append(new JsonObject { ["kind"] = "client_eval", ["round"] = round, ["client"] = c.Id, ["local_loss"] = local.MeanLoss, ["local_examples"] = local.Examples });
        }
    }

    private void WriteRunDescription()
    {
        AtomicFile.WriteAllText(_run.ConfigFile, ConfigBinder.ToYaml(_s));
        AtomicFile.WriteAllText(_run.AllocationFile, _data.Report.ToJson());
        AtomicFile.WriteAllText(_run.RunFile, new JsonObject
        {
            ["name"] = _s.Name, ["strategy"] = _s.Strategy, ["seed"] = _s.Seed, ["rounds"] = _s.Rounds, ["clients"] = _clients.Count,
            ["threads"] = get_num_threads(), ["started"] = DateTime.UtcNow.ToString("O"), ["finished"] = null,
        }.ToJsonString());
        if (File.Exists(_run.MetricsFile)) File.Delete(_run.MetricsFile);
        if (File.Exists(_run.TrafficCsv)) File.Delete(_run.TrafficCsv);
    }

    private void MarkFinished()
    {
        var run = JsonNode.Parse(File.ReadAllText(_run.RunFile))!.AsObject();
        run["finished"] = DateTime.UtcNow.ToString("O");
        AtomicFile.WriteAllText(_run.RunFile, run.ToJsonString());
    }

    private static JsonObject RoundLine(RoundRecord r, long examples, long paramsUp = 0, long paramsDown = 0) => new()
    {
        ["kind"] = "round", ["round"] = r.Round, ["global_loss"] = r.GlobalLoss, ["global_perplexity"] = r.GlobalPerplexity,
        ["train_loss"] = r.TrainLoss, ["clients"] = new JsonArray([.. r.Clients.Select(c => (JsonNode)c)]),
        ["dropped"] = new JsonArray([.. r.Dropped.Select(c => (JsonNode)c)]), ["examples"] = examples,
        ["bytes_up"] = r.BytesUp, ["bytes_down"] = r.BytesDown, ["params_up"] = paramsUp, ["params_down"] = paramsDown, ["seconds"] = r.Seconds,
    };

    public void Dispose()
    {
        _clientModel.Dispose();
        _model.Dispose();
    }

    private sealed class NullProgress : ISimulationProgress;
}
