using System.Text.Json.Nodes;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Models.Llama2c;
using Confer.Models.Safetensors;

namespace Confer.Tests.Federation.Simulation;

/// <summary>
/// End-to-end simulations on the real pretrained stories260K model (converted from llama2.c) and real Dolly client
/// files, kept tiny so they run in seconds.
/// </summary>
public class SimulationEngineTests : IClassFixture<SimulationEngineTests.ModelFolder>
{
    private readonly ModelFolder _model;

    public SimulationEngineTests(ModelFolder model) => _model = model;

    public sealed class ModelFolder : IDisposable
    {
        private readonly TempDir _dir = new();

        public ModelFolder()
        {
            Path = _dir.File("stories260K");
            Llama2cConverter.ConvertToHf(SharedDataPath.Of("models", "stories260K", "stories260K_q80.bin"),
                SharedDataPath.Of("models", "stories260K", "tok512.bin"), Path);
        }

        public string Path { get; }

        public void Dispose() => _dir.Dispose();
    }

    private SimulationSettings Settings(string output, int rounds, string strategy = "fedavg") => new()
    {
        Name = "t", Output = output, Model = _model.Path, Strategy = strategy, Rounds = rounds,
        Data = SharedDataPath.Of("dolly-15k", "shepherd-10clients"),
        TestData = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "global_test.json"),
        MaxClientRecords = 40, LocalTestFraction = 0.005, Fraction = 0.2, LocalSteps = 3, MicroBatchSize = 4,
        CutoffLen = 256, LearningRate = 5e-3, LoraRank = 4, LoraAlpha = 8, Baselines = [], EvalBatchSize = 16,
    };

    [Fact]
    public void ThreeRoundsChangeTheGlobalAdapterAndLowerTheLoss()
    {
        using var dir = new TempDir();
        var result = SimulationEngine.Run(Settings(dir.Path, 3), System.IO.Path.Combine(dir.Path, "t"), resume: false, ct: TestContext.Current.CancellationToken);
        var rounds = new RunFolder(result.RunFolder).Rounds();
        Assert.Equal([0, 1, 2, 3], rounds.Select(r => r.Round));
        Assert.True(result.GlobalLoss < result.InitialLoss, $"loss {result.InitialLoss} → {result.GlobalLoss}");
        Assert.All(rounds.Skip(1), r => Assert.Equal(2, r.Aggregated.Count));
        Assert.All(rounds.Skip(1), r => Assert.True(r.Up.Bytes > 0 && r.Down.Bytes > 0));

        using var first = SafetensorsFile.Load(System.IO.Path.Combine(result.RunFolder, "rounds", "round-0001", "adapter", "adapter_model.safetensors"));
        using var last = SafetensorsFile.Load(System.IO.Path.Combine(result.RunFolder, "final", "adapter", "adapter_model.safetensors"));
        var b = first.Names.First(n => n.EndsWith("lora_B.weight"));
        Assert.True(first[b].abs().sum().item<float>() > 0, "round 1 moved B away from zero");
        Assert.False(first[b].equal(last[b]).all().item<bool>(), "later rounds changed the adapter");
        Assert.True(File.Exists(System.IO.Path.Combine(result.RunFolder, "final", "model", "model.safetensors")));
        Assert.True(File.Exists(System.IO.Path.Combine(result.RunFolder, "allocation.json")));
        Assert.True(File.Exists(System.IO.Path.Combine(result.RunFolder, "metrics.csv")));
    }

    [Fact]
    public void A_run_stopped_during_its_baselines_trains_them_on_resume()
    {
        using var dir = new TempDir();
        var settings = Settings(dir.Path, 1);
        settings.Baselines = ["centralized"];
        settings.BaselineSteps = 2;
        var folder = System.IO.Path.Combine(dir.Path, "t");
        using var stop = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            SimulationEngine.Run(settings, folder, resume: false, new StopAtPhase("baselines", stop), stop.Token));
        Assert.False(new RunFolder(folder).IsFinished); // its rounds are done, its baselines are not

        var resumed = SimulationEngine.Run(settings, folder, resume: true, ct: TestContext.Current.CancellationToken);
        Assert.NotNull(resumed.CentralizedLoss);
        Assert.True(new RunFolder(folder).IsFinished);
        Assert.Equal([0, 1], new RunFolder(folder).Rounds().Select(r => r.Round)); // no round ran twice
    }

    /// <summary>Cancels the run the moment it enters <paramref name="phase"/>, as Ctrl-C would.</summary>
    private sealed class StopAtPhase(string phase, CancellationTokenSource stop) : IRoundProgress
    {
        public void Phase(string message, int round = 0)
        {
            if (message == phase) stop.Cancel();
        }
    }

    [Fact]
    public void ResumeAfterRoundTwoOfFourEqualsAnUninterruptedRun()
    {
        using var dir = new TempDir();
        var straight = SimulationEngine.Run(Settings(dir.Path, 4), System.IO.Path.Combine(dir.Path, "straight"), resume: false, ct: TestContext.Current.CancellationToken);

        // The crash: a run whose last completed checkpoint is round 2 (later rounds' files and lines are from a
        // process that died before it could mark them complete).
        var crashed = System.IO.Path.Combine(dir.Path, "crashed");
        SimulationEngine.Run(Settings(dir.Path, 4), crashed, resume: false, ct: TestContext.Current.CancellationToken);
        var folder = new RunFolder(crashed);
        File.WriteAllText(folder.CheckpointFile, "{\"round\": 2}");
        var run = JsonNode.Parse(File.ReadAllText(folder.RunFile))!.AsObject();
        run["finished"] = null;
        run["rounds_finished"] = null;
        File.WriteAllText(folder.RunFile, run.ToJsonString());
        Directory.Delete(Confer.Federation.Rounds.RunLayout.RoundFolder(crashed, 3), recursive: true);
        Directory.Delete(folder.FinalFolder, recursive: true);
        var resumed = SimulationEngine.Run(Settings(dir.Path, 4), crashed, resume: true, ct: TestContext.Current.CancellationToken);

        Assert.Equal(straight.GlobalLoss, resumed.GlobalLoss);
        using var a = SafetensorsFile.Load(System.IO.Path.Combine(straight.RunFolder, "final", "adapter", "adapter_model.safetensors"));
        using var b = SafetensorsFile.Load(System.IO.Path.Combine(resumed.RunFolder, "final", "adapter", "adapter_model.safetensors"));
        Assert.Equal(a.Names, b.Names);
        foreach (var (name, t) in a) Assert.True(t.equal(b[name]).all().item<bool>(), name);
        static IEnumerable<string> Losses(string run) => new RunFolder(run).Rounds()
            .Select(r => $"{r.Round}:{r.GlobalLoss}:{r.TrainLoss}:{string.Join(",", r.Aggregated)}:{r.Up.Bytes}:{r.Down.Bytes}");
        Assert.Equal(Losses(straight.RunFolder), Losses(resumed.RunFolder));
    }

    [Fact]
    public void AFinishedRunIsNotRunAgainAndMoreRoundsExtendItToWhatALongerRunEndsWith()
    {
        using var dir = new TempDir();
        var ct = TestContext.Current.CancellationToken;
        var straight = SimulationEngine.Run(Settings(dir.Path, 3), System.IO.Path.Combine(dir.Path, "straight"), resume: false, ct: ct);

        var folder = System.IO.Path.Combine(dir.Path, "short");
        SimulationEngine.Run(Settings(dir.Path, 2), folder, resume: false, ct: ct);
        var metrics = File.ReadAllText(new RunFolder(folder).MetricsFile);
        SimulationEngine.Run(Settings(dir.Path, 2), folder, resume: true, ct: ct);
        Assert.Equal(metrics, File.ReadAllText(new RunFolder(folder).MetricsFile)); // complete: nothing was run again

        var extended = SimulationEngine.Run(Settings(dir.Path, 3), folder, resume: true, ct: ct);
        Assert.Equal(3, new RunFolder(folder).LastCompletedRound());
        Assert.Equal(straight.GlobalLoss, extended.GlobalLoss);
        using var a = SafetensorsFile.Load(System.IO.Path.Combine(straight.RunFolder, "final", "adapter", "adapter_model.safetensors"));
        using var b = SafetensorsFile.Load(System.IO.Path.Combine(extended.RunFolder, "final", "adapter", "adapter_model.safetensors"));
        foreach (var (name, t) in a) Assert.True(t.equal(b[name]).all().item<bool>(), name);
        Assert.Throws<Confer.Configuration.ConfigException>(() =>
        {
            var other = Settings(dir.Path, 3);
            other.LearningRate = 0.5;
            SimulationEngine.Run(other, folder, resume: true, ct: ct);
        });
    }

    [Fact]
    public void FloraMergesStackedUpdatesIntoTheBaseWithHeterogeneousRanks()
    {
        using var dir = new TempDir();
        var settings = Settings(dir.Path, 2, "flora");
        settings.ClientRanks = [2, 4, 8];
        var result = SimulationEngine.Run(settings, System.IO.Path.Combine(dir.Path, "t"), resume: false, ct: TestContext.Current.CancellationToken);
        Assert.True(result.GlobalLoss < result.InitialLoss);
        Assert.False(Directory.Exists(System.IO.Path.Combine(result.RunFolder, "final", "adapter")), "FLoRA keeps no global adapter: it is merged");
        using var state = SafetensorsFile.Load(System.IO.Path.Combine(result.RunFolder, "rounds", "round-0002", "state.safetensors"));
        Assert.Contains(state.Names, n => n.StartsWith("merged/", StringComparison.Ordinal));
    }

    [Fact]
    public void UnknownStrategyAndExistingRunAreClearErrors()
    {
        using var dir = new TempDir();
        var bad = Settings(dir.Path, 1, "fedmagic");
        var e = Assert.ThrowsAny<Exception>(() => SimulationEngine.Run(bad, System.IO.Path.Combine(dir.Path, "x"), resume: false, ct: TestContext.Current.CancellationToken));
        Assert.Contains("fedmagic", e.Message);
    }
}
