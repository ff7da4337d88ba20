using System.Text.Json.Nodes;
using Confer.Configuration;
using Confer.Federation.Clients;
using Confer.Federation.Messages;
using Confer.Federation.Network;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Scheduling;
using Confer.Data;
using Confer.Models;
using Confer.Robustness.Attacks;
using Confer.Tokenizers;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Federation.Simulation;

/// <summary>
/// A federated experiment in one process: the <see cref="RoundDriver"/> that <c>confer server</c> also runs, with N
/// virtual clients reached in-process (<see cref="InProcessClientPool"/>) and trained one after another on one shared
/// model — memory holds one model plus the selected clients' adapters — and the run recorded in a
/// <see cref="RunFolder"/>. After the rounds it trains the local-only and centralized baselines. With
/// <c>resume</c> it continues after the last committed round and ends with exactly the result of an uninterrupted run.
/// </summary>
public sealed class SimulationEngine : IDisposable
{
    private readonly SimulationSettings _s;
    private readonly IRoundProgress _progress;
    private readonly long _padId;
    private readonly ClientModel _clientModel;
    private readonly FederatedData _data;
    private readonly List<IClientTrainer> _clients;
    private readonly TrainerOptions _training;
    private readonly AttackPlan _attack;
    private readonly ComplianceProbe? _probe;

    /// <summary>Loads and checks everything a run needs (model, tokenizer, data) before anything is written.</summary>
    private SimulationEngine(SimulationSettings settings, IRoundProgress progress)
    {
        _s = settings;
        _progress = progress;
        if (!Directory.Exists(settings.Model)) throw new ConfigException($"model: folder '{settings.Model}' does not exist.");
        var tokenizer = TextTokenizer.FromPretrained(settings.Model);
        _padId = tokenizer.PadId ?? 0;
        var model = ModelFactory.LoadCausalLM(settings.Model, device: Runtime.DeviceSelector.Parse(settings.Device));
        try
        {
            _clientModel = new ClientModel(model, settings.CreateTuner());
        }
        catch
        {
            model.Dispose();
            throw;
        }
        progress.Phase("allocating and tokenising client data");
        _data = FederatedData.Load(settings, tokenizer);
        _training = settings.ToTrainerOptions((int)_padId);
        _attack = AttackPlan.From(settings, [.. _data.Clients.Select(c => c.Id)]);
        var encoder = new ExampleEncoder(tokenizer, Prompter.Load(settings.Template), new ExampleEncoderOptions { MaxLength = settings.CutoffLen, TrainOnInputs = settings.TrainOnInputs });
        var poison = _attack.Kind == AttackKind.Poison ? encoder.EncodeAll(InstructionRecordReader.Load(settings.PoisonData)).Examples : [];
        _clients = [.. _data.Clients.Select(c => Client(c, poison))];
        settings.Codecs().CheckClients([.. _clients.Select(c => c.Id)], "this simulation");
        if (settings.ComplianceData.Length > 0) _probe = ComplianceProbe.Load(settings.ComplianceData, tokenizer, Prompter.Load(settings.Template));
    }

    /// <summary>An honest client, or — for an attacker of <c>attack: poison</c> — one that trains on the poison set.</summary>
    private IClientTrainer Client(ClientData data, IReadOnlyList<TokenizedExample> poison)
    {
        if (_attack.Kind != AttackKind.Poison || !_attack.IsAttacker(data.Id))
            return new FederatedClient(data, _training, _s.LoraDropout, _s.Seed, _s.EvalBatchSize);
        var inner = new FederatedClient(PoisoningClient.Data(data, poison), _training, _s.LoraDropout, _s.Seed, _s.EvalBatchSize);
        return new PoisoningClient(inner, _s.MaxClientRecords > 0 ? _s.MaxClientRecords : data.Train.Count);
    }

    /// <summary>
    /// Runs (or resumes) the experiment in <paramref name="runFolder"/> and returns its summary. With
    /// <c>client_devices</c> and no <c>device_tokens_per_second</c>, the measured throughput is written into
    /// <paramref name="settings"/> (and the run's config.yaml).
    /// </summary>
    /// <param name="settings">The run's settings; on resume, what the command asked for (see <see cref="ResumeRules"/>: only rounds may grow).</param>
    /// <param name="runFolder">The run folder.</param>
    /// <param name="resume">Continue the run in <paramref name="runFolder"/> after its last committed round.</param>
    /// <param name="progress">Where phases and progress go.</param>
    /// <param name="ct">Stops the run between training steps (Ctrl-C); every committed round stays, and --resume continues.</param>
    public static SimulationResult Run(SimulationSettings settings, string runFolder, bool resume, IRoundProgress? progress = null, CancellationToken ct = default)
    {
        settings.ValidateSimulation();
        progress ??= new NullProgress();
        var run = new RunFolder(runFolder);
        if (resume)
        {
            if (!run.HoldsRun) throw new ConfigException($"--resume: '{run.Folder}' holds no run to continue.");
            var (continued, applied) = ResumeRules.Reconcile(ConfigBinder.Bind<SimulationSettings>(run.ConfigFile, []), settings, run.LastCompletedRound());
            if (applied.Count == 0 && run.IsFinished)
            {
                progress.Phase("the run is already complete; nothing to do");
                return SimulationResult.Read(run, continued.Strategy, 0);
            }
            foreach (var change in applied) progress.Phase($"extending the run: {change}");
            if (applied.Count > 0) run.Extend(ConfigBinder.ToYaml(continued), continued.Rounds);
            settings = continued;
        }
        else if (run.HoldsRun)
        {
            throw new ConfigException($"Run folder '{run.Folder}' already holds a run; use --resume to continue it, or choose another name/output.");
        }
        var existed = Directory.Exists(run.Folder);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            using var engine = new SimulationEngine(settings, progress);
            engine.Execute(run, resume, ct);
        }
        catch (Exception e) when (!resume && !existed && e is not OperationCanceledException && run.LastCompletedRound() == 0)
        {
            // A run that failed before its first round leaves no folder behind for the next attempt to trip over.
            if (Directory.Exists(run.Folder)) Directory.Delete(run.Folder, recursive: true);
            throw;
        }
        return SimulationResult.Read(run, settings.Strategy, clock.Elapsed.TotalSeconds);
    }

    private void Execute(RunFolder run, bool resume, CancellationToken ct)
    {
        if (_s.ClientDevices.Length > 0 && _s.DeviceTokensPerSecond is null)
        {
            // Measured once and recorded in config.yaml, so that a resume (and a rerun of that file) times clients alike.
            _progress.Phase("measuring this machine's training throughput (device_tokens_per_second)");
            _s.DeviceTokensPerSecond = ThroughputProbe.Measure(_clientModel, _data.Clients[0].Train, _training, _s);
            _progress.Phase($"device_tokens_per_second = {_s.DeviceTokensPerSecond:0.#}");
        }
        // Everything that can refuse the settings is built before the run folder is written.
        using var strategy = StrategySetup.Create(_s, _clientModel, [.. _clients.Select(c => c.Id)]);
        // The clients' state between rounds (error-feedback residuals) lives in the run folder, so --resume continues it.
        var pipeline = MessageStages.For(_s, new FolderClientStateStore(run.ClientStateFolder), attack: _attack);
        var runners = _clients.Select(c => new ClientRunner(c, _clientModel, pipeline)).ToList();
        using var release = new Runners(runners);
        IClientPool pool = new InProcessClientPool(runners, _progress, _s.Rounds);
        if (_s.ClientDevices.Length > 0)
            pool = new SimulatedNetworkPool(pool, SimulatedNetworkFor([.. _clients.Select(c => c.Id)]), _progress);
        var scheduler = SchedulerRegistry.Create(_s.Scheduler, new SchedulingOptions
        {
            Fraction = _s.Fraction, MinClients = _s.MinClients, Seed = _s.Seed, RoundDeadlineSeconds = _s.RoundDeadlineSeconds,
            RankChoices = _s.RankByCapacity ? [.. _s.ClientRanks.Distinct().Order()] : [],
        });
        var driver = new RoundDriver(_s, strategy, scheduler, pool, run, new CausalLMServerModel(_clientModel, _data.GlobalTest, _s.EvalBatchSize, _padId, _probe),
            pipeline, RoundPolicy.FromKeys(_s.MinReturned, _s.OnShortRound, _s.MaxRoundAttempts), _progress);
        if (resume) run.PrepareResume();
        else run.Create(ConfigBinder.ToYaml(_s), _data.Report.ToJson(), Description());
        // Every in-process exchange completes synchronously, so this never blocks a thread another task needs.
        driver.RunAsync(ct).GetAwaiter().GetResult();
        RunBaselines(run, ct);
        run.WriteMetricsCsv();
        run.MarkFinished();
    }

    /// <summary>Client i gets <c>client_devices[i % count]</c>, as <c>client_ranks</c> assigns ranks.</summary>
    private SimulatedNetwork SimulatedNetworkFor(IReadOnlyList<string> clientIds)
    {
        var devices = clientIds.Select((id, i) => (id, DeviceProfile.Parse(_s.ClientDevices[i % _s.ClientDevices.Length])))
            .ToDictionary(p => p.id, p => p.Item2, StringComparer.Ordinal);
        return new SimulatedNetwork(devices, _s.DeviceTokensPerSecond!.Value, _s.RoundDeadlineSeconds, _s.Seed);
    }

    private void RunBaselines(RunFolder run, CancellationToken ct)
    {
        _progress.Phase("baselines");
        var baselines = new Baselines(_s, _clientModel, _data, _training, _padId, _progress, FederatedClientSteps(run), ct);
        if (_s.Baselines.Contains("local"))
            foreach (var r in baselines.LocalOnly())
                run.Append(Line(BaselineEntry.Local, r));
        if (_s.Baselines.Contains("centralized"))
            run.Append(Line(BaselineEntry.Centralized, baselines.Centralized()));
    }

    private static JsonObject Line(string name, Baselines.Result r) => new()
    {
        ["kind"] = "baseline", ["name"] = name, ["client"] = r.ClientId, ["global_loss"] = r.GlobalLoss, ["local_loss"] = r.LocalLoss,
        ["steps"] = r.Steps, ["compute"] = r.Compute,
    };

    /// <summary>
    /// Optimiser steps of every client update the run aggregated, read from the committed rounds so a resumed run counts
    /// the rounds of earlier processes too. Each in-process client trains <see cref="LocalTrainer.TotalSteps"/> for its
    /// data (no task overrides local_steps in a simulation).
    /// </summary>
    private long FederatedClientSteps(RunFolder run)
    {
        var trainer = new LocalTrainer(_training);
        var stepsOf = _data.Clients.ToDictionary(c => c.Id, c => (long)trainer.TotalSteps(c.Train.Count), StringComparer.Ordinal);
        return run.Rounds().Where(r => r.Round > 0).Sum(r => r.Aggregated.Sum(c => stepsOf[c]));
    }

    private JsonObject Description()
    {
        var description = new JsonObject
        {
            ["name"] = _s.Name, ["strategy"] = _s.Strategy, ["seed"] = _s.Seed, ["rounds"] = _s.Rounds, ["clients"] = _clients.Count,
            ["threads"] = get_num_threads(), ["started"] = DateTime.UtcNow.ToString("O"), ["finished"] = null,
        };
        if (_attack.Kind != AttackKind.None)
        {
            description["attack"] = _s.Attack;
            description["attackers"] = new JsonArray([.. _attack.Attackers.Order(StringComparer.Ordinal).Select(a => (JsonNode)a)]);
        }
        return description;
    }

    public void Dispose()
    {
        _clientModel.Dispose();
        _clientModel.Model.Dispose();
    }

    private sealed class NullProgress : IRoundProgress;

    private sealed class Runners(IReadOnlyList<ClientRunner> runners) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in runners) r.Dispose();
        }
    }
}
