using Confer.Configuration;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Confer.Federation.Strategies;
using Confer.Runtime;

namespace Confer.Federation.Experiments;

/// <summary>
/// <c>confer experiment strategies</c>: federated strategies compared on one task, with every client at one rank and
/// with heterogeneous client ranks, each combination repeated over several seeds, so a difference between strategies
/// can be told from seed noise. Every cell is a simulation run by <see cref="GridRuns"/> (resumable, skips finished
/// cells). A strategy that refuses a rank setting (the FedIT family averages A and B separately and needs one rank)
/// gives a row that says so instead of a number.
/// </summary>
public sealed class StrategyExperiment : IGridExperiment<StrategyRow>
{
    public const string StrategyKey = "strategy";
    public const string RanksKey = "client_ranks";
    public const string SeedKey = "seed";

    /// <summary>Every strategy issue 15 compares: the FedIT family with server optimisers, then the LoRA-aware ones.</summary>
    public static readonly IReadOnlyList<string> DefaultStrategies =
        ["fedavg", "fedprox", "fedavgm", "fedadam", "fedyogi", "flora", "flexlora", "hetlora", "ffa-lora"];

    /// <summary>Homogeneous (every client at lora_r) and the FLoRA paper's heterogeneous ranks, repeated over the clients.</summary>
    public static readonly IReadOnlyList<string> DefaultRanks = ["[]", "[4, 32, 32, 16, 4]"];

    public static readonly IReadOnlyList<int> DefaultSeeds = [1, 2, 3];

    private readonly GridRuns _runs;

    /// <param name="configPath">The base experiment YAML (null: the built-in Dolly 10-client FedIT job).</param>
    /// <param name="overrides">Key overrides of the base experiment (<c>--set</c>).</param>
    /// <param name="strategies">Strategies to compare.</param>
    /// <param name="ranks"><c>client_ranks</c> values; <c>[]</c> means every client at the base <c>lora_r</c>.</param>
    /// <param name="seeds">Seeds every (strategy, ranks) pair runs with.</param>
    /// <param name="name">The experiment's folder name under the base experiment's <c>output</c>.</param>
    public StrategyExperiment(string? configPath, IReadOnlyList<string> overrides, IReadOnlyList<string> strategies, IReadOnlyList<string> ranks,
        IReadOnlyList<int> seeds, string name)
    {
        _runs = new GridRuns(configPath, overrides, name);
        foreach (var s in strategies)
            if (!StrategyRegistry.Names.Contains(s, StringComparer.Ordinal))
                throw new ConfigException($"--strategies: unknown strategy '{s}' (valid: {string.Join(", ", StrategyRegistry.Names)}).");
        Grid = new ExperimentGrid(
        [
            new GridAxis(StrategyKey, "s", strategies),
            new GridAxis(RanksKey, "ranks", ranks),
            new GridAxis(SeedKey, "seed", [.. seeds.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture))]),
        ]);
        foreach (var cell in Grid.Cells) _runs.Settings(cell); // every cell's settings are valid before the first runs
    }

    public string Folder => _runs.Folder;

    public ExperimentGrid Grid { get; }

    public IReadOnlyList<GridCell> Cells => Grid.Cells;

    /// <summary>The base rank, for naming the homogeneous setting.</summary>
    public int BaseRank => _runs.Base.LoraRank;

    public (bool Started, bool Finished, int LastRound) State(GridCell cell) =>
        File.Exists(RefusalFile(cell)) ? (true, true, 0) : _runs.State(cell);

    public int Rounds(GridCell cell) => _runs.Settings(cell).Rounds;

    /// <summary>Runs (resumes, or skips when finished) one cell and returns its row; a strategy's refusal of the ranks is the row's note.</summary>
    public StrategyRow Run(GridCell cell, IRoundProgress progress, CancellationToken ct = default)
    {
        if (File.Exists(RefusalFile(cell))) return Row(cell);
        try
        {
            _runs.Run(cell, progress, ct);
        }
        catch (ConfigException e) when (e.Message.StartsWith($"strategy '{cell[StrategyKey]}'", StringComparison.Ordinal))
        {
            // The engine refuses before round 1 and leaves no run folder; the refusal is remembered so a rerun skips it.
            Directory.CreateDirectory(Path.GetDirectoryName(RefusalFile(cell))!);
            AtomicFile.WriteAllText(RefusalFile(cell), e.Message);
        }
        return Row(cell);
    }

    /// <summary>The row of a finished (or refused) cell, from its run folder.</summary>
    public StrategyRow Row(GridCell cell)
    {
        var folder = _runs.CellFolder(cell);
        if (File.Exists(RefusalFile(cell))) return new StrategyRow(cell, folder, null, 0, 0, 0, 0, File.ReadAllText(RefusalFile(cell)));
        var rounds = new RunFolder(folder).Rounds().Where(r => r.Round > 0).ToList();
        var info = RunInfo.Read(folder);
        return new StrategyRow(cell, folder, RunMetrics.Read(folder).FinalRound?.GlobalLoss, rounds.Count,
            rounds.Sum(r => r.Up.Bytes), rounds.Sum(r => r.Down.Bytes), info.WallTime?.TotalSeconds ?? rounds.Sum(r => r.Seconds), null);
    }

    private string RefusalFile(GridCell cell) => _runs.CellFolder(cell) + ".refused.txt";
}

/// <summary>One cell's result: final global test loss and bytes over its rounds, or why the strategy refused the cell.</summary>
public sealed record StrategyRow(GridCell Cell, string RunFolder, double? FinalLoss, int Rounds, long UpBytes, long DownBytes, double Seconds, string? Refusal)
{
    /// <summary>Uplink plus downlink bytes per training round.</summary>
    public double BytesPerRound => Rounds > 0 ? (UpBytes + DownBytes) / (double)Rounds : 0;
}
