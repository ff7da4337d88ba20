using Confer.Federation.Experiments;
using Confer.Tests.Federation.Simulation;

namespace Confer.Tests.Federation.Experiments;

/// <summary>
/// <c>confer experiment strategies</c> on the stories260K fixture: a 2 × 2 × 2 grid of one-round runs, a refusal where
/// a strategy cannot take heterogeneous ranks, the tables, and a rerun that skips every finished cell.
/// </summary>
public class StrategyExperimentTests : IClassFixture<SimulationEngineTests.ModelFolder>
{
    private readonly SimulationEngineTests.ModelFolder _model;

    public StrategyExperimentTests(SimulationEngineTests.ModelFolder model) => _model = model;

    [Fact]
    public void AGridRunsEveryCellOnceTabulatesMeanAndStdAndSkipsFinishedCellsOnRerun()
    {
        using var dir = new TempDir();
        var config = TinyBaseExperiment.Write(dir.Path, _model.Path);
        StrategyExperiment Experiment() => new(config, [], ["fedavg", "flora"], ["[]", "[2, 4]"], [1, 2], "grid");

        var experiment = Experiment();
        Assert.Equal(8, experiment.Cells.Count);
        var rows = experiment.Cells.Select(c => experiment.Run(c, new SilentRoundProgress(), TestContext.Current.CancellationToken)).ToList();

        var refused = rows.Where(r => r.Refusal is not null).ToList();
        Assert.Equal(2, refused.Count); // fedavg with heterogeneous ranks, both seeds
        Assert.All(refused, r => Assert.Equal(("fedavg", "[2, 4]"), (r.Cell["strategy"], r.Cell["client_ranks"])));
        Assert.All(refused, r => Assert.Contains("same rank", r.Refusal, StringComparison.Ordinal));
        // (FLoRA's first task carries no adapter: clients start fresh, so round 1 may send 0 bytes down.)
        Assert.All(rows.Except(refused), r => Assert.True(r.FinalLoss is > 0 && r.Rounds == 1 && r.UpBytes > 0, r.ToString()));
        // Two seeds are two different runs.
        Assert.NotEqual(rows[0].FinalLoss, rows[1].FinalLoss);

        var markdown = StrategyReport.Write(experiment.Folder, rows, experiment.BaseRank);
        Assert.Contains("| fedavg | all r=4 | 2 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| fedavg | [2,4] | 0 | refused:", markdown, StringComparison.Ordinal);
        Assert.Contains("FLoRA's claim", markdown, StringComparison.Ordinal);
        Assert.Equal(9, File.ReadAllLines(Path.Combine(experiment.Folder, "strategies.csv")).Length);
        Assert.True(new FileInfo(Path.Combine(experiment.Folder, "strategies.png")).Length > 1000);

        // A rerun finds every cell finished (refusals included) and trains nothing.
        var stamps = rows.Where(r => r.Refusal is null).Select(r => File.GetLastWriteTimeUtc(Path.Combine(r.RunFolder, "metrics.jsonl"))).ToList();
        var again = Experiment();
        Assert.All(again.Cells, c => Assert.True(again.State(c).Finished));
        var rerun = again.Cells.Select(c => again.Run(c, new SilentRoundProgress(), TestContext.Current.CancellationToken)).ToList();
        Assert.Equal(rows.Select(r => r.FinalLoss), rerun.Select(r => r.FinalLoss));
        Assert.Equal(stamps, rerun.Where(r => r.Refusal is null).Select(r => File.GetLastWriteTimeUtc(Path.Combine(r.RunFolder, "metrics.jsonl"))));
    }

    [Fact]
    public void MeanAndSampleStdOverSeedsAndTheNoiseRule()
    {
        // By hand: losses 1, 2, 3 → mean 2, sample std 1; 2.1, 2.2, 2.3 → mean 2.2, std 0.1.
        // SE of the difference = √(1/3 + 0.01/3) ≈ 0.580, so |2 − 2.2| = 0.2 < 2·SE: within seed noise; 2 vs 5 is not.
        var a = Summary("fedavg", 1, 2, 3);
        Assert.Equal(2, a.Loss!.Value.Mean, 12);
        Assert.Equal(1, a.Loss!.Value.Std!.Value, 12);
        Assert.True(a.WithinNoiseOf(Summary("flora", 2.1, 2.2, 2.3)));
        Assert.False(a.WithinNoiseOf(Summary("flora", 4.9, 5.0, 5.1)));
        Assert.Null(a.WithinNoiseOf(Summary("flora", 2.0)));
    }

    private static StrategySummary Summary(string strategy, params double[] losses)
    {
        var grid = new ExperimentGrid([new GridAxis("strategy", "s", [strategy]), new GridAxis("client_ranks", "ranks", ["[]"]),
            new GridAxis("seed", "seed", [.. losses.Select((_, i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture))])]);
        return new StrategySummary(strategy, "[]", [.. grid.Cells.Zip(losses, (c, l) => new StrategyRow(c, "", l, 1, 10, 10, 1, null))]);
    }
}
