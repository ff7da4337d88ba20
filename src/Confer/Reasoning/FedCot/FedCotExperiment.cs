using System.Diagnostics;
using Confer.Configuration;
using Confer.Data;
using Confer.Federation.Rounds;
using Confer.Reasoning.Candidates;
using Confer.Reasoning.Discriminator;
using Confer.Reasoning.Selection;
using Confer.Reasoning.Suites;
using Confer.Runtime;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// A whole FedCoT experiment in one process, the four stages of the paper and its baselines on the same candidates:
/// (1) each client's actor writes K reasoning paths per question, labelled against the gold answers (cached); (2–3)
/// the clients train the discriminator on the round driver, FLoRA-stacked, only LoRA and the head travelling; (4) each
/// test question is answered by the best-scored candidate. Baselines: the actor's greedy CoT, self-consistency, a
/// discriminator trained on the client's own candidates only, Fed-SFT of the actor, and the pass@K oracle. The run
/// folder gets <c>fedcot.json</c>, <c>table.md</c>, <c>report.html</c>, <c>discriminator/</c> and <c>fed-sft/</c>.
/// </summary>
public static class FedCotExperiment
{
    /// <summary>
    /// Runs the experiment into <paramref name="runFolder"/>. Cancelling <paramref name="ct"/> stops it between steps
    /// (a question, an optimiser step, a round); every split whose candidates were finished is already in the cache, so
    /// running the same command again skips their generation.
    /// </summary>
    /// <param name="s">The experiment's settings.</param>
    /// <param name="runFolder">A new folder for this run.</param>
    /// <param name="actor">The local LLM.</param>
    /// <param name="progress">Receives progress; null for none.</param>
    /// <param name="ct">Stops the run.</param>
    public static FedCotResult Run(FedCotSettings s, string runFolder, ActorSource actor, IFedCotProgress? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(actor);
        s.Validate();
        progress ??= new NullProgress();
        if (File.Exists(Path.Combine(runFolder, FedCotResult.FileName)) || Directory.Exists(Path.Combine(runFolder, "discriminator")))
            throw new ConfigException($"Run folder '{runFolder}' already holds a FedCoT run; choose another name or output.");
        if (!Directory.Exists(s.EncoderFolder)) throw new ConfigException($"encoder: folder '{s.EncoderFolder}' does not exist.");
        var clock = Stopwatch.StartNew();
        var suite = LoadSuite(s);
        Directory.CreateDirectory(runFolder);
        AtomicFile.WriteAllText(Path.Combine(runFolder, "config.yaml"), ConfigBinder.ToYaml(s));

        var candidates = GenerateCandidates(s, suite, actor, progress, ct);

        progress.Phase("loading the discriminator's encoder");
        var (model, tokenizer) = DiscriminatorModel.Load(s.EncoderFolder, s.LoraTargets, s.Seed, Runtime.DeviceSelector.Parse(s.Device));
        try
        {
            var padId = tokenizer.PadId ?? 0;
            var input = new DiscriminatorInput(tokenizer, s.MaxLength);
            var data = candidates.Select(c => DiscriminatorData.Encode(c.Name, c.Train, c.Test, input)).ToList();
            var federated = new FederatedDiscriminator(s, model, data, padId, progress);
            var discriminatorRun = Path.Combine(runFolder, "discriminator");
            var rounds = federated.Run(discriminatorRun, [.. data.Select(d => (d.Id, d.Test))], ct);
            var final = rounds[^1];

            IReadOnlyDictionary<string, DiscriminatorReport>? local = null;
            if (s.Runs("local"))
            {
                progress.Phase("local discriminators (each client alone)");
                local = LocalDiscriminators.Run(s, model, data, FederatedDiscriminator.Training(s), padId, progress, ct);
            }

            FedSftBaseline.Result? sft = null;
            if (s.Runs("fed-sft"))
            {
                if (actor.ModelFolder is null || actor.OpenModel is null)
                    progress.Warning("Fed-SFT skipped: it fine-tunes the actor, and this actor is an endpoint, not a Confer model folder.");
                else
                    sft = new FedSftBaseline(s, suite, actor, progress).Run(Path.Combine(runFolder, "fed-sft"), ct);
            }

            var rows = candidates.Select(c => new FedCotRow(
                c.Name, c.Test.Count, c.Test.SelectMany(q => q.Samples).Average(x => x.Correct ? 1.0 : 0.0),
                s.Runs("cot") ? Share(c.Test, q => q.Greedy!.Correct) : null,
                s.Runs("self-consistency") ? Share(c.Test, q => q.Samples[CandidateSelection.MajorityVote(q.Samples)].Correct) : null,
                local?[c.Name].Accuracy,
                sft?.Accuracy[c.Name],
                final.Metric(DiscriminatorServerModel.AccuracyOf(c.Name)),
                s.Runs("pass@k") ? Share(c.Test, q => CandidateSelection.AnyCorrect(q.Samples)) : null)).ToList();
            var result = new FedCotResult(Path.GetFullPath(runFolder), suite.Name, s.K, rows, RoundTraffic.Of("FedCoT (discriminator, flora)", rounds),
                sft is null ? null : RoundTraffic.Of("Fed-SFT (actor, FedIT)", sft.Rounds), Path.GetFullPath(discriminatorRun),
                sft is null ? null : Path.GetDirectoryName(Path.GetFullPath(sft.RunFolder)), clock.Elapsed.TotalSeconds);
            AtomicFile.WriteAllText(Path.Combine(runFolder, FedCotResult.FileName), result.ToJson());
            AtomicFile.WriteAllText(Path.Combine(runFolder, FedCotResult.TableFile), result.ToMarkdown());
            FedCotReport.Write(result, s, rounds);
            progress.Phase("finished");
            return result;
        }
        finally
        {
            model.Dispose();
            model.Model.Dispose();
        }
    }

    /// <summary>The suite the settings name: the built-in arithmetic families or the medical sets under <c>data_root</c>.</summary>
    public static ReasoningSuite LoadSuite(FedCotSettings s) => s.Suite switch
    {
        ArithmeticSuite.Name => ArithmeticSuite.Create(s.TrainQuestions, s.TestQuestions, s.SuiteSeed),
        MedicalSuite.Name => MedicalSuite.Load(s.DataRoot, s.TrainQuestions, s.TestQuestions, s.SuiteSeed),
        _ => throw new ConfigException($"suite: unknown suite '{s.Suite}'."),
    };

    private sealed record ClientCandidates(string Name, IReadOnlyList<QuestionCandidates> Train, IReadOnlyList<QuestionCandidates> Test);

    private static List<ClientCandidates> GenerateCandidates(FedCotSettings s, ReasoningSuite suite, ActorSource actor, IFedCotProgress progress, CancellationToken ct)
    {
        var generator = new CandidateGenerator(actor.Actor, actor.CacheKey, s.Sampling, suite.Prompt, new CandidateCache(s.Cache))
        {
            Concurrency = s.ActorConcurrency,
            Log = message => progress.Phase(message),
        };
        var all = new List<ClientCandidates>();
        foreach (var dataset in suite.Datasets)
        {
            var train = Generate(generator, dataset.Name, "train", dataset.Train, greedy: false, progress, ct);
            var test = Generate(generator, dataset.Name, "test", dataset.Test, greedy: true, progress, ct);
            all.Add(new ClientCandidates(dataset.Name, train, test));
        }
        return all;
    }

    private static IReadOnlyList<QuestionCandidates> Generate(CandidateGenerator generator, string dataset, string split, IReadOnlyList<QaRecord> questions,
        bool greedy, IFedCotProgress progress, CancellationToken ct)
    {
        progress.GenerationStarted($"candidates {dataset} {split}", questions.Count);
        try
        {
            return generator.GetAsync(dataset, split, questions, greedy, new Progress(progress), ct).GetAwaiter().GetResult();
        }
        finally
        {
            progress.GenerationFinished();
        }
    }

    private static double Share<T>(IReadOnlyList<T> items, Func<T, bool> predicate) => items.Count == 0 ? 0 : items.Count(predicate) / (double)items.Count;

    /// <summary>Forwards generation progress synchronously (System.Progress would post to the thread pool, out of order).</summary>
    private sealed class Progress(IFedCotProgress progress) : IProgress<int>
    {
        public void Report(int value) => progress.GenerationProgress(value);
    }

    private sealed class NullProgress : IFedCotProgress;
}
