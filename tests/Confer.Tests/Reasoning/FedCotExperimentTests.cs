using System.Text.Json;
using Confer.Federation.Simulation;
using Confer.Reasoning.FedCot;
using Confer.Tests.Data;

namespace Confer.Tests.Reasoning;

/// <summary>
/// The whole `confer fedcot` pipeline at toy size on the shipped models: candidates, the federated discriminator with
/// its per-round checkpoints (an encoder's adapter folder, not a causal LM's), the local, Fed-SFT and pass@K
/// baselines, and the files a user reads. Its numbers mean nothing; that every stage runs and the selectors stay
/// below their ceiling does.
/// </summary>
public sealed class FedCotExperimentTests
{
    [Fact]
    public void Seed_varies_the_run_but_not_the_questions_which_follow_suite_seed()
    {
        static string[] Questions(FedCotSettings s) =>
            [.. FedCotExperiment.LoadSuite(s).Datasets.SelectMany(d => d.Train.Concat(d.Test)).Select(q => q.Question)];
        var standard = Questions(new FedCotSettings { TrainQuestions = 4, TestQuestions = 4 });
        // The shipped actor and verifier never saw seed 42's questions; another run seed must keep that test set.
        Assert.Equal(standard, Questions(new FedCotSettings { TrainQuestions = 4, TestQuestions = 4, Seed = 7 }));
        Assert.NotEqual(standard, Questions(new FedCotSettings { TrainQuestions = 4, TestQuestions = 4, SuiteSeed = 7 }));
        // A deployment's sites bring their own questions: a server given suite_seed would ignore it, so it refuses it.
        var refused = Assert.Throws<Confer.Configuration.ConfigException>(() => DeployedDiscriminator.Run(new FedCotSettings { SuiteSeed = 7 }));
        Assert.StartsWith("suite_seed:", refused.Message);
    }

    [Fact]
    public void A_tiny_run_goes_through_every_stage_and_no_selector_beats_pass_at_k()
    {
        var root = Directory.CreateTempSubdirectory("confer-fedcot-").FullName;
        try
        {
            var s = new FedCotSettings
            {
                Output = root, Name = "tiny", Cache = Path.Combine(root, "cache"),
                Actor = Path.Combine(DataPaths.RepoRoot, "models", "confer-arith-actor"),
                Encoder = Path.Combine(DataPaths.RepoRoot, "models", "confer-bert-arith"),
                TrainQuestions = 3, TestQuestions = 3, K = 2, MaxTokens = 24, MaxLength = 64,
                Rounds = 2, LocalSteps = 1, MicroBatchSize = 8, EvalBatchSize = 16, SftRounds = 1, SftLocalSteps = 1,
            };
            var folder = Path.Combine(root, "tiny");
            using var actor = ActorSource.Open(s);
            var result = FedCotExperiment.Run(s, folder, actor, ct: TestContext.Current.CancellationToken);

            Assert.Equal(5, result.Rows.Count);
            foreach (var row in result.Rows)
            {
                Assert.Equal(3, row.TestQuestions);
                foreach (var selected in new[] { row.Cot, row.SelfConsistency, row.FedCot, row.Local, row.FedSft })
                    Assert.InRange(selected!.Value, 0, 1);
                // Every best-of-K selector picks one of the K candidates, so none can beat "any candidate is right".
                Assert.True(row.FedCot <= row.PassAtK && row.SelfConsistency <= row.PassAtK && row.Local <= row.PassAtK, row.ToString());
            }
            var rounds = new RunFolder(Path.Combine(folder, "discriminator")).Rounds();
            Assert.Equal([0, 1, 2], rounds.Select(r => r.Round)); // the starting discriminator and two rounds
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(folder, "discriminator"), "adapter_config.json", SearchOption.AllDirectories));
            foreach (var file in new[] { "table.md", "report.html", FedCotResult.FileName })
                Assert.True(File.Exists(Path.Combine(folder, file)), file);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, FedCotResult.FileName)));
            Assert.Equal(5, json.RootElement.GetProperty("rows").GetArrayLength());
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
