using Confer.Configuration;
using Confer.Data;
using Confer.Federation.Deployment;
using Confer.Reasoning.Candidates;
using Confer.Reasoning.Discriminator;
using Confer.Reasoning.Suites;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// <c>confer fedcot client</c>'s site (FedCoT stages 1, 2 and 4 at one site): its local LLM writes K reasoning paths
/// for each of its training and test questions with the run's sampling recipe (cached on disk, labelled against the
/// site's gold answers), and its discriminator — the run's encoder, LoRA at this client's rank, the head — trains on
/// them each round and scores its test questions. Only the LoRA pair and the head are ever sent; questions, answers
/// and candidates stay here.
/// </summary>
public sealed class DiscriminatorSite(FedCotSiteSettings site) : IClientSite
{
    /// <summary>The <see cref="DeployedRun.Kind"/> of a FedCoT discriminator run.</summary>
    public const string Kind = "fedcot-discriminator";

    public string RunKind => Kind;

    public PreparedSite Prepare(string clientId, string runConfigYaml, ClientSettings settings, Action<string> log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        site.Validate();
        if (settings.MaxLocalSteps > 0)
            throw new ConfigException("max_local_steps: a FedCoT discriminator site trains the run's local_steps (a few seconds of encoder steps); remove the key.");
        var run = ConfigBinder.BindReceived<FedCotSettings>(runConfigYaml, "the server's run config");
        var train = Load(settings.Data, "data", run.TrainQuestions);
        var test = site.TestData.Length > 0 ? Load(site.TestData, "test_data", run.TestQuestions) : [];
        var (trainCandidates, testCandidates) = Generate(clientId, run, train, test, settings.Device, log, ct);

        var (model, tokenizer) = DiscriminatorModel.Load(settings.Model, run.LoraTargets, run.Seed, Runtime.DeviceSelector.Parse(settings.Device));
        var data = DiscriminatorData.Encode(clientId, trainCandidates, testCandidates, new DiscriminatorInput(tokenizer, run.MaxLength));
        log($"{data.Train.Count} training candidates ({trainCandidates.SelectMany(q => q.Samples).Count(c => c.Correct)} correct), " +
            $"{testCandidates.Count} test questions");
        var trainer = new DiscriminatorClient(data, FederatedDiscriminator.Training(run), run.PosWeightFor(data.BalancingPosWeight()), run.Seed,
            run.EvalBatchSize, tokenizer.PadId ?? 0);
        return new PreparedSite(FederatedDiscriminator.DriverSettings(run, deployed: true), trainer, model, data.Train.Count);
    }

    /// <summary>The first <paramref name="cap"/> questions of a file, as the run's train_questions/test_questions allow.</summary>
    private IReadOnlyList<QaRecord> Load(string path, string key, int cap)
    {
        IReadOnlyList<QaRecord> records;
        try
        {
            records = QaDatasets.Load(site.Format, path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or System.Text.Json.JsonException)
        {
            throw new ConfigException($"{key}: '{path}' cannot be read as {site.Format} ({e.Message}); check the file or set format.");
        }
        if (records.Count == 0) throw new ConfigException($"{key}: '{path}' holds no questions.");
        return [.. records.Take(cap)];
    }

    /// <summary>Stage 1: this site's actor writes the candidates of both splits (or the cache has them).</summary>
    private (IReadOnlyList<QuestionCandidates> Train, IReadOnlyList<QuestionCandidates> Test) Generate(string clientId, FedCotSettings run,
        IReadOnlyList<QaRecord> train, IReadOnlyList<QaRecord> test, string device, Action<string> log, CancellationToken ct)
    {
        // The actor is the site's own; the sampling recipe is the run's, so all sites sample alike.
        log($"loading the actor {site.Actor}");
        using var actor = ActorSource.Open(new FedCotSettings { Actor = site.Actor, ActorModel = site.ActorModel, ActorConcurrency = site.ActorConcurrency, Device = device });
        var generator = new CandidateGenerator(actor.Actor, actor.CacheKey, run.Sampling, ReasoningPrompt.ForSuite(run.Suite), new CandidateCache(site.Cache))
        {
            Concurrency = site.ActorConcurrency,
            Log = log,
        };
        IReadOnlyList<QuestionCandidates> Split(string split, IReadOnlyList<QaRecord> questions)
        {
            if (questions.Count == 0) return [];
            log($"candidates: {run.K} per question for {questions.Count} {split} questions");
            return generator.GetAsync(clientId, split, questions, greedy: false, progress: null, ct).GetAwaiter().GetResult();
        }
        return (Split("train", train), Split("test", test));
    }
}
