using System.Text.Json.Nodes;
using Confer.Configuration;
using Confer.Federation.Clients;
using Confer.Federation.Messages;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Scheduling;
using Confer.Models;
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
    private readonly List<FederatedClient> _clients;
    private readonly TrainerOptions _training;

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
            _clientModel = new ClientModel(model, settings.LoraTargets);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        progress.Phase("allocating and tokenising client data");
        _data = FederatedData.Load(settings, tokenizer);
        _training = settings.ToTrainerOptions((int)_padId);
        _clients = [.. _data.Clients.Select(c => new FederatedClient(c, _training, settings.LoraDropout, settings.Seed, settings.EvalBatchSize))];
    }

    /// <summary>Runs (or resumes) the experiment in <paramref name="runFolder"/> and returns its summary.</summary>
    /// <param name="settings">The run's settings; on resume, what the command asked for (see <see cref="ResumeRules"/>: only rounds may grow).</param>
    /// <param name="runFolder">The run folder.</param>
    /// <param name="resume">Continue the run in <paramref name="runFolder"/> after its last committed round.</param>
    /// <param name="progress">Where phases and progress go.</param>
    /// <param name="ct">Stops the run between training steps (Ctrl-C); every committed round stays, and --resume continues.</param>
    public static SimulationResult Run(SimulationSettings settings, string runFolder, bool resume, IRoundProgress? progress = null, CancellationToken ct = default)
    {
        settings.Validate();
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
        // Everything that can refuse the settings is built before the run folder is written.
        using var strategy = StrategySetup.Create(_s, _clientModel, [.. _clients.Select(c => c.Id)]);
        var pipeline = MessageStages.For(_s);
        var pool = new InProcessClientPool([.. _clients.Select(c => new ClientRunner(c, _clientModel, pipeline))], _progress, _s.Rounds);
        var scheduler = SchedulerRegistry.Create(_s.Scheduler, new SchedulingOptions { Fraction = _s.Fraction, MinClients = _s.MinClients, Seed = _s.Seed });
        var driver = new RoundDriver(_s, strategy, scheduler, pool, run, new CausalLMServerModel(_clientModel, _data.GlobalTest, _s.EvalBatchSize, _padId),
            pipeline, new RoundPolicy(), _progress);
        if (resume) run.PrepareResume();
        else run.Create(ConfigBinder.ToYaml(_s), _data.Report.ToJson(), Description());
        // Every in-process exchange completes synchronously, so this never blocks a thread another task needs.
        driver.RunAsync(ct).GetAwaiter().GetResult();
        RunBaselines(run, ct);
        run.WriteMetricsCsv();
        run.MarkFinished();
    }

    private void RunBaselines(RunFolder run, CancellationToken ct)
    {
        _progress.Phase("baselines");
        var clientSteps = run.Rounds().Where(r => r.Round > 0).Sum(r => r.Aggregated.Count) * (_s.LocalSteps > 0 ? _s.LocalSteps : 0);
        var baselines = new Baselines(_s, _clientModel, _data, _training, _padId, _progress, clientSteps, ct);
        if (_s.Baselines.Contains("local"))
            foreach (var r in baselines.LocalOnly())
                run.Append(new JsonObject { ["kind"] = "baseline", ["name"] = BaselineEntry.Local, ["client"] = r.ClientId, ["global_loss"] = r.GlobalLoss, ["local_loss"] = r.LocalLoss });
        if (_s.Baselines.Contains("centralized"))
            run.Append(new JsonObject { ["kind"] = "baseline", ["name"] = BaselineEntry.Centralized, ["global_loss"] = baselines.Centralized() });
    }

    private JsonObject Description() => new()
    {
        ["name"] = _s.Name, ["strategy"] = _s.Strategy, ["seed"] = _s.Seed, ["rounds"] = _s.Rounds, ["clients"] = _clients.Count,
        ["threads"] = get_num_threads(), ["started"] = DateTime.UtcNow.ToString("O"), ["finished"] = null,
    };

    public void Dispose()
    {
        _clientModel.Dispose();
        _clientModel.Model.Dispose();
    }

    private sealed class NullProgress : IRoundProgress;
}
