using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Peft;
using Confer.Models.Safetensors;

namespace Confer.Tests.Federation.Simulation;

/// <summary>
/// End-to-end simulations on stories260K with a simulated network (client_devices), the deadline scheduler, and the
/// prompt-tuning and bottleneck PEFT methods.
/// </summary>
public class HeterogeneousSimulationTests : IClassFixture<SimulationEngineTests.ModelFolder>
{
    /// <summary>Fixed, so that simulated times do not depend on how fast this machine happens to be.</summary>
    private const double TokensPerSecond = 2000;

    private readonly SimulationEngineTests.ModelFolder _model;

    public HeterogeneousSimulationTests(SimulationEngineTests.ModelFolder model) => _model = model;

    private SimulationSettings Settings(string output, int rounds) => new()
    {
        Name = "t", Output = output, Model = _model.Path, Rounds = rounds,
        Data = SharedDataPath.Of("dolly-15k", "shepherd-10clients"),
        TestData = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "global_test.json"),
        MaxClientRecords = 40, LocalTestFraction = 0.005, Fraction = 0.3, LocalSteps = 2, MicroBatchSize = 4,
        CutoffLen = 256, LearningRate = 5e-3, LoraRank = 4, LoraAlpha = 8, Baselines = [], EvalBatchSize = 16,
        DeviceTokensPerSecond = TokensPerSecond, EvalEvery = 0, // timing and selection need no global evaluation
    };

    /// <summary>
    /// The record's simulated wall-clock recomputed by hand from the traffic ledger's bytes (traffic.csv), the tokens
    /// each client reported, and the profiles' numbers typed in here: max over the round's clients of
    /// (RTT + down·8/downlink) + tokens/(speed·2000) + (RTT + up·8/uplink).
    /// </summary>
    [Fact]
    public void SimulatedWallClockIsTheSlowestClientOverTheLedgersBytes()
    {
        using var dir = new TempDir();
        var settings = Settings(dir.Path, 2);
        settings.ClientDevices = ["hospital-fibre jitter=0 dropout=0", "clinic-dsl jitter=0 dropout=0", "phone-4g jitter=0 dropout=0"];
        var result = SimulationEngine.Run(settings, dir.File("t"), resume: false, ct: TestContext.Current.CancellationToken);
        // (speed, up Mbit/s, down Mbit/s, RTT ms) of hospital-fibre, clinic-dsl and phone-4g, by client index mod 3.
        (double Speed, double Up, double Down, double Rtt)[] devices = [(1, 300, 300, 10), (0.5, 1, 20, 30), (0.1, 5, 17, 35)];
        foreach (var record in new RunFolder(result.RunFolder).Rounds().Where(r => r.Round > 0))
        {
            Assert.Equal(record.Selected, record.Timings.Select(t => t.ClientId));
            var expected = record.Timings.Select(t =>
            {
                var traffic = record.Traffic.Single(x => x.ClientId == t.ClientId);
                Assert.Equal(traffic.Down.Bytes, t.BytesDown);
                Assert.Equal(traffic.Up.Bytes, t.BytesUp);
                Assert.True(t.Tokens > 0);
                var d = devices[int.Parse(t.ClientId["client_".Length..]) % 3];
                return d.Rtt / 1000 + traffic.Down.Bytes * 8 / (d.Down * 1e6) + t.Tokens / (d.Speed * TokensPerSecond) + d.Rtt / 1000 + traffic.Up.Bytes * 8 / (d.Up * 1e6);
            }).Max();
            Assert.Equal(expected, record.Metric(MetricNames.SimulatedSeconds)!.Value, 9);
            Assert.True(record.Metric(MetricNames.RealTrainSeconds) > 0);
        }
        Assert.Contains("simulated_seconds", File.ReadAllText(Path.Combine(result.RunFolder, "metrics.jsonl")));
        Assert.NotNull(result.SimulatedSeconds);
    }

    [Fact]
    public void SeededDropOutsAreReproducibleAndAResumedRunEqualsAnUninterruptedOne()
    {
        using var dir = new TempDir();
        SimulationSettings Config()
        {
            var s = Settings(dir.Path, 4);
            s.ClientDevices = ["home-cable dropout=0.3", "phone-4g dropout=0.3"];
            return s;
        }
        var straight = SimulationEngine.Run(Config(), dir.File("straight"), resume: false, ct: TestContext.Current.CancellationToken);

        var crashed = dir.File("crashed");
        SimulationEngine.Run(Config(), crashed, resume: false, ct: TestContext.Current.CancellationToken);
        var folder = new RunFolder(crashed);
        File.WriteAllText(folder.CheckpointFile, "{\"round\": 2}");
        var run = JsonNode.Parse(File.ReadAllText(folder.RunFile))!.AsObject();
        run["finished"] = null;
        run["rounds_finished"] = null;
        File.WriteAllText(folder.RunFile, run.ToJsonString());
        Directory.Delete(RunLayout.RoundFolder(crashed, 3), recursive: true);
        Directory.Delete(folder.FinalFolder, recursive: true);
        var resumed = SimulationEngine.Run(Config(), crashed, resume: true, ct: TestContext.Current.CancellationToken);

        static IEnumerable<string> Rounds(string run) => new RunFolder(run).Rounds().Select(r =>
            $"{r.Round}:{string.Join(",", r.Selected)}|{string.Join(",", r.Aggregated)}|{string.Join(";", r.Dropped.Select(d => d.ClientId + "=" + d.Reason))}" +
            $"|{r.Metric(MetricNames.SimulatedSeconds)}|{string.Join(",", r.Timings.Select(t => $"{t.ClientId}:{t.Seconds:R}:{t.Tokens}"))}|{r.TrainLoss}");
        var expected = Rounds(straight.RunFolder).ToList();
        Assert.Equal(expected, Rounds(resumed.RunFolder));
        Assert.Contains(expected, line => line.Contains("dropped out (simulated", StringComparison.Ordinal));
        using var a = SafetensorsFile.Load(Path.Combine(straight.RunFolder, "final", "adapter", "adapter_model.safetensors"));
        using var b = SafetensorsFile.Load(Path.Combine(resumed.RunFolder, "final", "adapter", "adapter_model.safetensors"));
        foreach (var (name, t) in a) Assert.True(t.equal(b[name]).all().item<bool>(), name);
    }

    /// <summary>
    /// min_returned in a simulation: with seeded drop-outs (30 % per client, 3 of 10 clients per round) some round of
    /// the plain run aggregates fewer than 3 updates; with min_returned 3 every committed round aggregates all 3 (the
    /// short attempts were retried with new draws), and with on_short_round fail the run stops at the first short round
    /// with an error naming min_returned, leaving the rounds before it committed.
    /// </summary>
    [Fact]
    public void MinReturnedRetriesOrStopsARoundThatSimulatedDropOutsLeftShort()
    {
        using var dir = new TempDir();
        SimulationSettings Config(int minReturned, string onShort)
        {
            var s = Settings(dir.Path, 3);
            s.ClientDevices = ["lan dropout=0.3"];
            s.MinReturned = minReturned;
            s.OnShortRound = onShort;
            s.MaxRoundAttempts = 20;
            return s;
        }
        static List<int> Aggregated(string run) => [.. new RunFolder(run).Rounds().Where(r => r.Round > 0).Select(r => r.Aggregated.Count)];
        var ct = TestContext.Current.CancellationToken;

        var plain = Aggregated(SimulationEngine.Run(Config(1, "retry"), dir.File("plain"), resume: false, ct: ct).RunFolder);
        Assert.Equal(3, plain.Count);
        Assert.Contains(plain, n => n < 3);

        var retried = Aggregated(SimulationEngine.Run(Config(3, "retry"), dir.File("retried"), resume: false, ct: ct).RunFolder);
        Assert.Equal([3, 3, 3], retried);

        var firstShort = plain.FindIndex(n => n < 3) + 1;
        var e = Assert.Throws<RunStoppedException>(() => SimulationEngine.Run(Config(3, "fail"), dir.File("failed"), resume: false, ct: ct));
        Assert.Contains("min_returned is 3", e.Message);
        Assert.Contains($"round {firstShort} attempt 1", e.Message);
        Assert.Equal(firstShort - 1, new RunFolder(dir.File("failed")).LastCompletedRound());
    }

    /// <summary>
    /// A device a thousand times slower than the reference cannot train within 5 s: the deadline scheduler explores it
    /// in round 1 (nothing is known yet), the network drops it there with the deadline reason and the round lasts
    /// until the deadline; from round 2 on, its measured history rules it out and no one misses the deadline.
    /// </summary>
    [Fact]
    public void TheDeadlineSchedulerStopsPickingAClientItHasSeenMissTheDeadline()
    {
        using var dir = new TempDir();
        var settings = Settings(dir.Path, 3);
        settings.ClientDevices = ["lan", "lan", "lan", "lan", "lan", "lan", "lan", "lan", "lan", "lan speed=0.001"];
        settings.Scheduler = "deadline";
        settings.RoundDeadlineSeconds = 5;
        settings.Fraction = 1;
        var result = SimulationEngine.Run(settings, dir.File("t"), resume: false, ct: TestContext.Current.CancellationToken);
        var rounds = new RunFolder(result.RunFolder).Rounds().Where(r => r.Round > 0).ToList();
        var first = rounds[0];
        Assert.Contains("client_9", first.Selected);
        Assert.Contains(first.Dropped, d => d.ClientId == "client_9" && d.Reason.StartsWith("missed the round deadline (simulated", StringComparison.Ordinal));
        Assert.Equal(5, first.Metric(MetricNames.SimulatedSeconds)!.Value, 9);
        Assert.Contains(first.Timings, t => t.ClientId == "client_9" && t.Seconds > 5);
        Assert.All(rounds.Skip(1), r =>
        {
            Assert.DoesNotContain("client_9", r.Selected);
            Assert.Equal(9, r.Selected.Count);
            Assert.Empty(r.Dropped);
            Assert.True(r.Metric(MetricNames.SimulatedSeconds) < 5);
        });
    }

    [Theory]
    [InlineData("prompt", "PROMPT_TUNING")]
    [InlineData("adapter", "BOTTLENECK")]
    public void PromptAndAdapterRunsFederateTheirTensorsAndSaveTheirFormat(string method, string peftType)
    {
        using var dir = new TempDir();
        var settings = Settings(dir.Path, 2);
        settings.PeftMethod = Enum.Parse<PeftMethod>(method, ignoreCase: true);
        settings.LearningRate = 2e-2;
        settings.EvalEvery = 1;
        var result = SimulationEngine.Run(settings, dir.File("t"), resume: false, ct: TestContext.Current.CancellationToken);
        Assert.True(result.GlobalLoss < result.InitialLoss, $"loss {result.InitialLoss} → {result.GlobalLoss}");
        var adapter = Path.Combine(result.RunFolder, "final", "adapter");
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(adapter, "adapter_config.json"))))
            Assert.Equal(peftType, json.RootElement.GetProperty("peft_type").GetString());
        using var tensors = SafetensorsFile.Load(Path.Combine(adapter, "adapter_model.safetensors"));
        Assert.DoesNotContain(tensors.Names, n => n.Contains("lora_", StringComparison.Ordinal));
        if (method == "prompt") Assert.Equal([PeftKeys.PromptEmbeddings], tensors.Names);
        Assert.False(Directory.Exists(Path.Combine(result.RunFolder, "final", "model")), "a prompt or adapters cannot be merged into the base");
        var rounds = new RunFolder(result.RunFolder).Rounds();
        Assert.All(rounds.Skip(1), r => Assert.True(r.Up.Parameters == tensors.Sum(t => t.Value.numel()) * r.Aggregated.Count));
    }
}
