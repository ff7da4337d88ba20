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
    public static SimulationResult Run(SimulationSettings settings, string runFolder, bool resume, IRoundProgress? progress = null)
    {
        settings.Validate();
        var run = new RunFolder(runFolder);
        if (resume && !run.HoldsRun) throw new ConfigException($"--resume: '{run.Folder}' holds no run to continue.");
        if (!resume && run.HoldsRun)
            throw new ConfigException($"Run folder '{run.Folder}' already holds a run; use --resume to continue it, or choose another name/output.");
        if (resume && run.IsFinished) return SimulationResult.Read(run, settings.Strategy, 0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var engine = new SimulationEngine(settings, progress ?? new NullProgress()))
            engine.Execute(run, resume);
        return SimulationResult.Read(run, settings.Strategy, clock.Elapsed.TotalSeconds);
    }

    private void Execute(RunFolder run, bool resume)
    {
        if (resume) run.PrepareResume();
        else run.Create(ConfigBinder.ToYaml(_s), _data.Report.ToJson(), Description());
        using var strategy = StrategySetup.Create(_s, _clientModel, [.. _clients.Select(c => c.Id)]);
        var pipeline = MessageStages.For(_s);
        var pool = new InProcessClientPool([.. _clients.Select(c => new ClientRunner(c, _clientModel, pipeline))], _progress, _s.Rounds);
        var scheduler = SchedulerRegistry.Create(_s.Scheduler, new SchedulingOptions { Fraction = _s.Fraction, MinClients = _s.MinClients, Seed = _s.Seed });
        var driver = new RoundDriver(_s, strategy, scheduler, pool, run, new CausalLMServerModel(_clientModel, _data.GlobalTest, _s.EvalBatchSize, _padId),
            pipeline, new RoundPolicy(), _progress);
        // Every in-process exchange completes synchronously, so this never blocks a thread another task needs.
        driver.RunAsync(CancellationToken.None).GetAwaiter().GetResult();
        RunBaselines(run);
        run.WriteMetricsCsv();
        run.MarkFinished();
    }

    private void RunBaselines(RunFolder run)
    {
        _progress.Phase("baselines");
        var clientSteps = run.Rounds().Where(r => r.Round > 0).Sum(r => r.Aggregated.Count) * (_s.LocalSteps > 0 ? _s.LocalSteps : 0);
        var baselines = new Baselines(_s, _clientModel, _data, _training, _padId, _progress, clientSteps);
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
