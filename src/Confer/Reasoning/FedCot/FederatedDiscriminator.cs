using System.Text.Json.Nodes;
using Confer.Configuration;
using Confer.Federation;
using Confer.Federation.Allocation;
using Confer.Federation.Clients;
using Confer.Federation.Messages;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Scheduling;
using Confer.Federation.Simulation;
using Confer.Reasoning.Discriminator;
using Confer.Training;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// FedCoT's stages 2–3 in simulation: the clients' discriminators trained on the one round driver — FLoRA stacking of
/// their heterogeneous-rank LoRA pairs merged into the encoder each round, the head averaged with p_k — with every task
/// and update passing the run's message stages and traffic ledger as in a deployment. The run is an ordinary run
/// folder (metrics.jsonl, traffic.csv, rounds/, final/model = the merged discriminator, report.html).
/// </summary>
internal sealed class FederatedDiscriminator(FedCotSettings s, ClientModel model, IReadOnlyList<DiscriminatorData> clients, long padId, IRoundProgress progress)
{
    /// <summary>
    /// The round engine's settings for a FedCoT discriminator run: flora, every client every round, the clients' ranks
    /// and one LoRA scale. No honest client trains on more than train_questions × K candidates, so no reported count
    /// may exceed that. A deployed server holds no candidates, so its clients evaluate the global discriminator on
    /// their own test questions every round; a simulation's server model scores those same questions itself.
    /// </summary>
    public static SimulationSettings DriverSettings(FedCotSettings s, bool deployed) => new()
    {
        Name = deployed ? s.Name : "discriminator", Seed = s.Seed, Device = s.Device, Model = s.EncoderFolder, Strategy = "flora", Rounds = s.Rounds,
        Scheduler = "all", Fraction = 1, MinClients = 1, LocalSteps = s.LocalSteps, LearningRate = s.LearningRate,
        MicroBatchSize = s.MicroBatchSize, LoraRank = s.ClientRanks.Max(), LoraAlpha = s.LoraScale * s.ClientRanks.Max(),
        LoraTargets = s.LoraTargets, ClientRanks = s.ClientRanks, LoraDropout = 0, EvalEvery = 1, ClientEvalEvery = deployed ? 1 : 0,
        MaxClientRecords = checked(s.TrainQuestions * s.K), UplinkCodec = s.UplinkCodec, DownlinkCodec = s.DownlinkCodec, EvalBatchSize = s.EvalBatchSize,
        Baselines = [], Data = "", TestData = "",
    };

    /// <summary>The client optimiser recipe, shared with the local-only baseline.</summary>
    public static TrainerOptions Training(FedCotSettings s) => new()
    {
        LearningRate = s.LearningRate, MaxSteps = s.LocalSteps, MicroBatchSize = s.MicroBatchSize, Schedule = LearningRateSchedule.Constant,
        MaxGradNorm = 1.0, LogEvery = 1,
    };

    /// <summary>Runs every round into <paramref name="folder"/> and returns its committed records.</summary>
    public IReadOnlyList<RoundRecord> Run(string folder, IReadOnlyList<(string Name, IReadOnlyList<EncodedQuestion> Questions)> serverSets, CancellationToken ct)
    {
        var settings = DriverSettings(s, deployed: false);
        settings.Validate();
        var run = new RunFolder(folder);
        if (run.HoldsRun) throw new ConfigException($"'{folder}' already holds a run; choose another run name.");
        run.Create(ConfigBinder.ToYaml(settings), Allocation().ToJson(), new JsonObject
        {
            ["name"] = $"{s.Name} discriminator", ["strategy"] = settings.Strategy, ["seed"] = s.Seed, ["rounds"] = s.Rounds,
            ["clients"] = clients.Count, ["started"] = DateTime.UtcNow.ToString("O"), ["finished"] = null,
        });
        var trainers = clients.Select(c => new DiscriminatorClient(c, Training(s), s.PosWeightFor(c.BalancingPosWeight()), s.Seed, s.EvalBatchSize, padId)).ToList();
        using var strategy = StrategySetup.Create(settings, model, [.. trainers.Select(c => c.Id)]);
        var pipeline = MessageStages.For(settings);
        var pool = new InProcessClientPool([.. trainers.Select(c => new ClientRunner(c, model, pipeline))], progress, s.Rounds);
        var scheduler = SchedulerRegistry.Create(settings.Scheduler, new SchedulingOptions { Fraction = 1, MinClients = 1, Seed = s.Seed });
        var driver = new RoundDriver(settings, strategy, scheduler, pool, run, new DiscriminatorServerModel(model, serverSets, s.EvalBatchSize, padId),
            pipeline, new RoundPolicy(), progress);
        // In-process exchanges complete synchronously, so this never blocks a thread another task needs.
        driver.RunAsync(ct).GetAwaiter().GetResult();
        run.WriteMetricsCsv();
        run.MarkFinished();
        RunReport.Write(folder);
        return run.Rounds();
    }

    /// <summary>allocation.json: each client's training candidates, labelled by its data set, for the report's client-data plot.</summary>
    private AllocationReport Allocation()
    {
        var categories = new List<string?>();
        var indices = new List<IReadOnlyList<int>>();
        foreach (var c in clients)
        {
            indices.Add([.. Enumerable.Range(categories.Count, c.Train.Count)]);
            categories.AddRange(Enumerable.Repeat<string?>(c.Id, c.Train.Count));
        }
        return new DataAllocation("natural", s.Seed, indices).Report(categories);
    }
}
