using System.Text.Json.Nodes;
using Confer.Configuration;
using Confer.Federation.Experiments;
using Confer.Federation.Reporting;
using Confer.Federation.Simulation;
using Confer.Tests.Data;
using Confer.Tests.Federation.Simulation;

namespace Confer.Tests.Federation.Experiments;

/// <summary>
/// <c>confer experiment robustness</c> on the stories260K fixture: a scale attack × {none, median} × {0, 1} attackers
/// of 5 clients is four one-round runs (one clean run per defence, not one per attack), each cell's attacker count is
/// the number of attackers the run really had, the tables and the HTML page show every cell, and a rerun trains nothing.
/// </summary>
public class RobustnessExperimentTests(SimulationEngineTests.ModelFolder model) : IClassFixture<SimulationEngineTests.ModelFolder>
{
    [Fact]
    public void A_tiny_grid_runs_one_clean_run_per_defence_tabulates_every_cell_and_skips_finished_cells_on_rerun()
    {
        using var dir = new TempDir();
        var config = Path.Combine(dir.Path, "base.yaml");
        File.WriteAllText(config, ConfigBinder.ToYaml(new SimulationSettings
        {
            Name = "base", Output = dir.Path, Model = model.Path, Rounds = 1, Scheduler = "all", Clients = 5, Allocation = "iid",
            Data = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "local_training_0.json"),
            TestData = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "global_test.json"),
            MaxClientRecords = 8, LocalTestFraction = 0, LocalSteps = 2, MicroBatchSize = 2, CutoffLen = 128, LearningRate = 5e-3,
            LoraRank = 2, LoraAlpha = 4, EvalBatchSize = 16,
            ComplianceData = Path.Combine(DataPaths.RepoRoot, "data", "poison", "harmful_test.json"),
        }));
        // λ = 100: one boosted client of five moves plain averaging far from the clean run.
        RobustnessExperiment Experiment() => new(config, ["attack_scale=100"], ["scale"], ["none", "median"], [0, 1], "grid");

        var experiment = Experiment();
        Assert.Equal(5, experiment.Clients);
        Assert.Equal(4, experiment.Cells.Count);
        var rows = experiment.Cells.Select(c => experiment.Run(c, new SilentRoundProgress(), TestContext.Current.CancellationToken)).ToList();
        Assert.Equal([("none", "none", 0), ("none", "median", 0), ("scale", "none", 1), ("scale", "median", 1)],
            rows.Select(r => (r.Attack, r.Defence, r.Attackers)));
        foreach (var r in rows)
        {
            // The count is what the run did: run.json lists the attackers the engine picked with attacker_fraction = k/N.
            var info = JsonNode.Parse(File.ReadAllText(Path.Combine(r.RunFolder, RunInfo.FileName)))!;
            Assert.Equal(r.Attackers, info["attackers"]?.AsArray().Count ?? 0);
            Assert.True(r.FinalLoss is > 0 && r.Round == 1 && r.InitialLoss is > 0, r.ToString());
            Assert.InRange(r.Compliance!.Value, 0, 1);
        }
        var clean = rows[0].FinalLoss!.Value;
        var medianClean = rows[1].FinalLoss!.Value;
        var attacked = rows[2].FinalLoss!.Value;
        var medianAttacked = rows[3].FinalLoss!.Value;
        // Same starting model in every cell; the attack moves plain averaging further than it moves the median.
        Assert.All(rows, r => Assert.Equal(rows[0].InitialLoss!.Value, r.InitialLoss!.Value, 6));
        Assert.True(Math.Abs(attacked - clean) > Math.Abs(medianAttacked - medianClean),
            $"none: {clean} → {attacked}; median: {medianClean} → {medianAttacked}");

        var markdown = RobustnessReport.Write(experiment.Folder, rows, "setup line");
        Assert.Contains("**Attack: scale**", markdown, StringComparison.Ordinal);
        Assert.Contains($"| median | {medianClean:F4} / {rows[1].Compliance:P0} | {medianAttacked:F4} / {rows[3].Compliance:P0} |", markdown, StringComparison.Ordinal);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(experiment.Folder, "robustness.csv")).Length);
        var html = File.ReadAllText(Path.Combine(experiment.Folder, "robustness.html"));
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains($"{attacked:F4}", html, StringComparison.Ordinal);

        // A rerun finds every cell finished and trains nothing.
        var stamps = rows.Select(r => File.GetLastWriteTimeUtc(Path.Combine(r.RunFolder, "metrics.jsonl"))).ToList();
        var again = Experiment();
        Assert.All(again.Cells, c => Assert.True(again.State(c).Finished));
        var rerun = again.Cells.Select(c => again.Run(c, new SilentRoundProgress(), TestContext.Current.CancellationToken)).ToList();
        Assert.Equal(rows.Select(r => r.FinalLoss), rerun.Select(r => r.FinalLoss));
        Assert.Equal(stamps, rerun.Select(r => File.GetLastWriteTimeUtc(Path.Combine(r.RunFolder, "metrics.jsonl"))));
    }

    [Fact]
    public void An_attack_in_the_base_experiment_or_an_unknown_defence_is_refused_before_anything_runs()
    {
        using var dir = new TempDir();
        var config = Path.Combine(dir.Path, "base.yaml");
        File.WriteAllText(config, ConfigBinder.ToYaml(new SimulationSettings
        {
            Name = "base", Output = dir.Path, Model = model.Path, Clients = 5, Allocation = "iid",
            Data = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "local_training_0.json"),
            TestData = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "global_test.json"),
        }));
        var inBase = Assert.Throws<ConfigException>(() => new RobustnessExperiment(config, ["attack=scale", "attacker_fraction=0.2"], ["scale"], ["none"], [0, 1], "x"));
        Assert.Contains("leave attack, attackers and attacker_fraction out", inBase.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<ConfigException>(() => new RobustnessExperiment(config, [], ["scale"], ["mean-of-medians"], [0, 1], "x"));
        Assert.Contains("unknown robust aggregator 'mean-of-medians'", unknown.Message, StringComparison.Ordinal);
        var tooMany = Assert.Throws<ConfigException>(() => new RobustnessExperiment(config, [], ["scale"], ["none"], [6], "x"));
        Assert.Contains("not between 0 and the 5 clients", tooMany.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "x")));
    }
}
