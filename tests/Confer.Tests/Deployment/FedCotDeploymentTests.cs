using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Federation.Rounds;
using Confer.Models.Safetensors;
using Confer.Reasoning.Candidates;
using Confer.Reasoning.Discriminator;
using Confer.Reasoning.FedCot;
using Confer.Reasoning.Suites;
using Confer.Tests.Data;
using Confer.Tests.Federation.Experiments;
using Confer.Transport;

namespace Confer.Tests.Deployment;

/// <summary>
/// FedCoT's discriminator over a real deployment: `confer fedcot server` and two `confer fedcot client` processes over
/// TLS, each site generating its own candidates from its own question files with its own actor. The oracle is the
/// in-process simulation of the same run (same candidates, same FLoRA rounds): the deployed server must end with the
/// same merged discriminator, and the accuracies the sites report must equal the simulation's server-side scores of
/// those sites' test questions. A third client started as an instruction-tuning client is refused with the command to use.
/// </summary>
public sealed class FedCotDeploymentTests
{
    private static string Models(string name) => Path.Combine(DataPaths.RepoRoot, "models", name);

    [Fact]
    public async Task TwoSiteProcessesEndWithTheSimulatedDiscriminatorAndReportItsAccuracy()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        var s = new FedCotSettings
        {
            Encoder = Models("confer-bert-arith"), TrainQuestions = 4, TestQuestions = 3, K = 2, MaxTokens = 24, MaxLength = 64,
            Rounds = 2, LocalSteps = 2, ClientRanks = [4, 8, 4], MicroBatchSize = 8, EvalBatchSize = 16, Seed = 42,
        };
        var suite = ArithmeticSuite.Create(s.TrainQuestions, s.TestQuestions, s.Seed);
        ArithmeticSuite.Write(suite, dir.File("suite"));
        var sites = suite.Datasets.Take(2).ToList();

        // The simulation: the same sites' candidates, generated in this process into a cache of its own.
        var simulated = dir.File("simulated");
        var accuracy = new Dictionary<string, double>(StringComparer.Ordinal);
        var simulatedBce = 0.0;
        using (var actor = ActorSource.Open(new FedCotSettings { Actor = Models("confer-arith-actor") }))
        {
            var generator = new CandidateGenerator(actor.Actor, actor.CacheKey, s.Sampling, suite.Prompt, new CandidateCache(dir.File("sim-cache")));
            var (model, tokenizer) = DiscriminatorModel.Load(s.EncoderFolder, s.LoraTargets, s.Seed);
            try
            {
                var input = new DiscriminatorInput(tokenizer, s.MaxLength);
                var data = new List<DiscriminatorData>();
                foreach (var d in sites)
                {
                    var train = await generator.GetAsync(d.Name, "train", d.Train, greedy: false, null, ct);
                    var test = await generator.GetAsync(d.Name, "test", d.Test, greedy: false, null, ct);
                    data.Add(DiscriminatorData.Encode(d.Name, train, test, input));
                }
                var records = new FederatedDiscriminator(s, model, data, tokenizer.PadId ?? 0, new SilentRoundProgress())
                    .Run(simulated, [.. data.Select(x => (x.Id, x.Test))], ct);
                foreach (var d in sites) accuracy[d.Name] = records[^1].Metric(DiscriminatorServerModel.AccuracyOf(d.Name))!.Value;
                simulatedBce = records[^1].GlobalLoss!.Value;
            }
            finally
            {
                model.Dispose();
                model.Model.Dispose();
            }
        }

        // The deployment: one token per site (a third for the wrong kind of client), a server YAML of FedCoT and deployment keys.
        DevCertificates.Create(dir.File("certs"), ["localhost", "127.0.0.1"]);
        var state = dir.File("state");
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var store = ServerStore.Open(state))
            foreach (var id in sites.Select(d => d.Name).Append("intruder")) tokens[id] = store.IssueToken(id);
        File.WriteAllLines(dir.File("server.yaml"),
        [
            $"encoder: {s.EncoderFolder}", $"train_questions: {s.TrainQuestions}", $"test_questions: {s.TestQuestions}", $"k: {s.K}", $"max_tokens: {s.MaxTokens}",
            $"max_length: {s.MaxLength}", $"rounds: {s.Rounds}", $"local_steps: {s.LocalSteps}", "client_ranks: [4, 8, 4]", $"micro_batch_size: {s.MicroBatchSize}",
            $"eval_batch_size: {s.EvalBatchSize}", $"seed: {s.Seed}",
            "listen: 127.0.0.1:0", $"state: {state}", $"tls_cert: {dir.File("certs/server.crt")}", $"tls_key: {dir.File("certs/server.key")}",
            "min_available_clients: 2", "heartbeat_s: 2", "wait_timeout_s: 120", "round_deadline_s: 120", "linger_s: 3",
        ]);
        using var processes = new Processes();
        var server = processes.Start("server", "fedcot", "server", "--config", dir.File("server.yaml"));
        var url = DeploymentHarness.WaitForUrl(state, server);
        RunningProcess Client(string id, params string[] kind) => processes.Start(id, [.. kind, "--server", url, "--token", tokens[id], "--ca", dir.File("certs/ca.crt"),
            "--model", s.EncoderFolder, "--set", "threads=1", "--set", "max_backoff_s=2"]);
        var clients = sites.Select(d => Client(d.Name, "fedcot", "client", "--data", dir.File($"suite/{d.Name}/train.jsonl"),
            "--test-data", dir.File($"suite/{d.Name}/test.jsonl"), "--actor", Models("confer-arith-actor"), "--cache", dir.File($"cache-{d.Name}"))).ToList();
        var intruder = Client("intruder", "client", "--data", dir.File($"suite/{sites[0].Name}/train.jsonl"));

        Assert.NotEqual(0, await intruder.WaitForExitAsync(TimeSpan.FromMinutes(2), ct));
        Assert.Contains("confer fedcot client", intruder.Output, StringComparison.Ordinal);
        foreach (var p in clients.Append(server))
            Assert.True(await p.WaitForExitAsync(TimeSpan.FromMinutes(4), ct) == 0, processes.Logs);

        // The same merged discriminator and head as the simulation's.
        using (var expected = SafetensorsFile.Load(Path.Combine(simulated, "final", "model", "model.safetensors")))
        using (var actual = SafetensorsFile.Load(Path.Combine(state, "final", "model", "model.safetensors")))
        using (var start = SafetensorsFile.Load(Path.Combine(s.EncoderFolder, "model.safetensors")))
        {
            Assert.Equal(expected.Names.Order(StringComparer.Ordinal), actual.Names.Order(StringComparer.Ordinal));
            foreach (var (name, t) in expected)
                Assert.True((t - actual[name]).abs().max().item<float>() <= 1e-6f, $"{name} differs from the simulation's");
            var moved = start.Names.Where(expected.Names.Contains).Max(n => (start[n] - expected[n]).abs().max().item<float>());
            Assert.True(moved > 0, "two rounds of training left the encoder's weights unchanged");
        }
        // Each site scored the global discriminator on its own test questions: the simulation's server-side score of them.
        using var db = ServerStore.Open(state);
        var last = db.Rounds()[^1];
        Assert.Equal(s.Rounds, last.Round);
        foreach (var d in sites)
            Assert.Equal(accuracy[d.Name], last.Metric(MetricNames.ClientAccuracyOf(d.Name))!.Value, 12);
        Assert.Equal(accuracy.Values.Average(), last.Metric(MetricNames.ClientAccuracy)!.Value, 12);
        // The server's round lines carry the mean, not one value per site (a line would grow with every site).
        Assert.Contains($"{MetricNames.ClientAccuracy}=", server.Output, StringComparison.Ordinal);
        Assert.Contains($"(and {sites.Count} per-client values", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain($"{MetricNames.ClientAccuracyOf(sites[0].Name)}=", server.Output, StringComparison.Ordinal);
        Assert.Equal(sites.Select(d => d.Name).Order(StringComparer.Ordinal), last.ClientEvaluations.Select(e => e.ClientId));
        // Their mean BCE per candidate, weighted by candidates, is the simulation's global BCE over the same candidates.
        var e = last.ClientEvaluations;
        Assert.Equal(simulatedBce, e.Sum(x => x.Loss * x.Examples) / e.Sum(x => x.Examples), 5);
        // The state folder pins what the sites were sent, not only the round engine's keys.
        Assert.Equal(s.K, ConfigBinder.BindText<FedCotSettings>(db.GetMeta(FederationServer.ClientConfigKey)!, "server.db").K);
    }

    /// <summary>`confer` processes started from the test's CLI build, killed on dispose.</summary>
    private sealed class Processes : IDisposable
    {
        private readonly List<RunningProcess> _all = [];

        public RunningProcess Start(string name, params string[] args)
        {
            var p = RunningProcess.Cli(name, args);
            _all.Add(p);
            return p;
        }

        public string Logs => string.Join("\n", _all.Select(p => p.Output));

        public void Dispose()
        {
            foreach (var p in _all) p.Dispose();
        }
    }
}
