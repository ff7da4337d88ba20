using System.Globalization;
using Confer.Configuration;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Confer.Robustness.Aggregators;
using Confer.Robustness.Attacks;

namespace Confer.Federation.Experiments;

/// <summary>
/// <c>confer experiment robustness</c>: simulated attacks × robust aggregators × number of attackers on one task, so
/// the global metric with and without each defence comes from one command. Every cell is a simulation run by
/// <see cref="GridRuns"/> (resumable, skips finished cells). A count of k attackers is <c>attacker_fraction</c> = k/N
/// of the N clients the base experiment makes (the attackers are picked with the seed); the clean run (0 attackers)
/// is one cell per defence with <c>attack: none</c>, shared by every attack's table.
/// </summary>
public sealed class RobustnessExperiment : IGridExperiment<RobustnessRow>
{
    public const string AttackKey = "attack";
    public const string DefenceKey = "robust_aggregator";
    public const string FractionKey = "attacker_fraction";

    public static readonly IReadOnlyList<string> DefaultAttacks = ["sign-flip", "scale", "noise", "poison"];

    public static readonly IReadOnlyList<string> DefaultDefences = [RobustAggregatorRegistry.None, "median", "trimmed-mean", "krum", "multi-krum", "norm-bound"];

    public static readonly IReadOnlyList<int> DefaultAttackers = [0, 1, 2];

    private readonly GridRuns _runs;
    private readonly Dictionary<string, int> _countOf = new(StringComparer.Ordinal);

    /// <param name="configPath">The base experiment YAML (null: the built-in Dolly 10-client FedIT job).</param>
    /// <param name="overrides">Key overrides of the base experiment (<c>--set</c>), e.g. <c>trim_ratio=0.2</c>.</param>
    /// <param name="attacks">Attacks to simulate (not <c>none</c>: the clean run is the 0-attacker column).</param>
    /// <param name="defences"><c>robust_aggregator</c> values; <c>none</c> is plain averaging.</param>
    /// <param name="attackers">Numbers of attacking clients.</param>
    /// <param name="name">The experiment's folder name under the base experiment's <c>output</c>.</param>
    public RobustnessExperiment(string? configPath, IReadOnlyList<string> overrides, IReadOnlyList<string> attacks, IReadOnlyList<string> defences,
        IReadOnlyList<int> attackers, string name)
    {
        _runs = new GridRuns(configPath, overrides, name);
        if (_runs.Base.Attackers.Length > 0 || _runs.Base.AttackerFraction > 0 || AttackPlan.KindOf(_runs.Base.Attack) != AttackKind.None)
            throw new ConfigException("robustness: the grid sets attack and attacker_fraction in every cell; leave attack, attackers and attacker_fraction out of the base experiment.");
        foreach (var a in attacks)
            if (!AttackPlan.KindNames.ContainsKey(a) || AttackPlan.KindOf(a) == AttackKind.None)
                throw new ConfigException($"--attacks: '{a}' is not an attack (valid: {string.Join(", ", AttackPlan.KindNames.Keys.Where(k => k != "none"))}).");
        foreach (var d in defences)
            if (d != RobustAggregatorRegistry.None && !RobustAggregatorRegistry.Names.Contains(d, StringComparer.Ordinal))
                throw new ConfigException($"--defences: unknown robust aggregator '{d}' (valid: {RobustAggregatorRegistry.None}, {string.Join(", ", RobustAggregatorRegistry.Names)}).");
        Clients = FederatedData.CountClients(_runs.Base);
        foreach (var k in attackers)
            if (k < 0 || k > Clients) throw new ConfigException($"--attackers: {k} is not between 0 and the {Clients} clients of the base experiment.");
        foreach (var k in attackers.Distinct()) _countOf[Fraction(k)] = k;

        Grid = new ExperimentGrid(
        [
            new GridAxis(AttackKey, "attack", [.. attackers.Contains(0) ? ["none"] : Array.Empty<string>(), .. attacks]),
            new GridAxis(DefenceKey, "defence", defences),
            new GridAxis(FractionKey, "attackers", [.. attackers.Distinct().Select(Fraction)]),
        ]);
        // attack: none goes with 0 attackers only, and 0 attackers with attack: none only: one clean run per defence.
        Cells = [.. Grid.Cells.Where(c => (c[AttackKey] == "none") == (Count(c) == 0))];
        if (Cells.Count == 0) throw new ConfigException("robustness: the grid is empty (give at least one attack with attackers above 0, or 0 attackers).");
        foreach (var cell in Cells) _runs.Settings(cell); // every cell's settings are valid before the first runs
    }

    public string Folder => _runs.Folder;

    public ExperimentGrid Grid { get; }

    public IReadOnlyList<GridCell> Cells { get; }

    /// <summary>N, the clients of the base experiment.</summary>
    public int Clients { get; }

    /// <summary>The base experiment (its defence keys, e.g. <c>trim_ratio</c>, label the report).</summary>
    public SimulationSettings Base => _runs.Base;

    /// <summary>How many clients attack in <paramref name="cell"/>.</summary>
    public int Count(GridCell cell) => _countOf[cell[FractionKey]];

    public (bool Started, bool Finished, int LastRound) State(GridCell cell) => _runs.State(cell);

    public int Rounds(GridCell cell) => _runs.Settings(cell).Rounds;

    /// <summary>Runs (resumes, or skips when finished) one cell and returns its row.</summary>
    public RobustnessRow Run(GridCell cell, IRoundProgress progress, CancellationToken ct = default)
    {
        _runs.Run(cell, progress, ct);
        return Row(cell);
    }

    /// <summary>The row of a finished cell, from its run folder: final global loss, the compliance probe's rate when the run had one.</summary>
    public RobustnessRow Row(GridCell cell)
    {
        var folder = _runs.CellFolder(cell);
        var metrics = RunMetrics.Read(folder);
        var final = metrics.FinalRound;
        var info = RunInfo.Read(folder);
        return new RobustnessRow(cell[AttackKey], cell[DefenceKey], Count(cell), folder, metrics.Rounds.FirstOrDefault(r => r.Round == 0)?.GlobalLoss,
            final?.GlobalLoss, final?.Metrics is { } m && m.TryGetValue(ComplianceProbe.Metric, out var c) ? c : null,
            final?.Round ?? 0, info.WallTime?.TotalSeconds ?? metrics.TrainingRounds.Sum(r => r.Seconds));
    }

    /// <summary>k/N as the <c>attacker_fraction</c> value: round(k/N·N) = k exactly, as <see cref="AttackPlan"/> rounds it.</summary>
    private string Fraction(int k) => k == 0 ? "0" : ((double)k / Clients).ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>One cell's result: the attack, the defence, how many clients attacked, and the final global metrics.</summary>
/// <param name="Attack">The attack (<c>none</c> for the clean run).</param>
/// <param name="Defence">The robust aggregator (<c>none</c> = plain averaging).</param>
/// <param name="Attackers">Number of attacking clients.</param>
/// <param name="RunFolder">The cell's run folder.</param>
/// <param name="InitialLoss">The starting model's global test loss (round 0).</param>
/// <param name="FinalLoss">Global test loss after the last evaluated round.</param>
/// <param name="Compliance">The compliance probe's rate after that round, when <c>compliance_data</c> is set.</param>
/// <param name="Round">The last evaluated round.</param>
/// <param name="Seconds">Wall time of the run.</param>
public sealed record RobustnessRow(string Attack, string Defence, int Attackers, string RunFolder, double? InitialLoss, double? FinalLoss, double? Compliance,
    int Round, double Seconds);
