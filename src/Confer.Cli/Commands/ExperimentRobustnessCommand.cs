using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Confer.Cli.Console;
using Confer.Federation.Experiments;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary><c>confer experiment robustness</c>: attacks × robust aggregators × number of attackers, the global metric with and without each defence.</summary>
internal static class ExperimentRobustnessCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "base experiment YAML (default: the built-in Dolly 10-client FedIT job); set compliance_data to measure compliance" };
        var set = new Option<string[]>("--set") { Description = "override a base key, e.g. --set trim_ratio=0.2 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var name = new Option<string>("--name") { Description = "experiment folder under the base output (cells go to <output>/<name>/cells)", DefaultValueFactory = _ => "robustness" };
        var attacks = new Option<string[]>("--attacks") { Description = $"attacks (default: {string.Join(" ", RobustnessExperiment.DefaultAttacks)})", AllowMultipleArgumentsPerToken = true };
        var defences = new Option<string[]>("--defences") { Description = $"robust_aggregator values, none = plain averaging (default: {string.Join(" ", RobustnessExperiment.DefaultDefences)})", AllowMultipleArgumentsPerToken = true };
        var attackers = new Option<int[]>("--attackers") { Description = "numbers of attacking clients, chosen with the seed; 0 is the clean run (default: 0 1 2)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("robustness",
            "Simulated attacks against robust aggregation on one task: every attack × defence × number of attackers is a simulation, and the final global test " +
            "loss (with the compliance rate when compliance_data is set) is tabulated with and without each defence in robustness.md, robustness.csv and " +
            "robustness.html. Resumable: finished cells are skipped, an interrupted one continues.")
        {
            config, set, name, attacks, defences, attackers,
        };
        command.SetAction((parse, ct) => Task.FromResult(Run(parse.GetValue(config), parse.GetValue(set) ?? [],
            parse.GetValue(attacks) is { Length: > 0 } a ? a : RobustnessExperiment.DefaultAttacks,
            parse.GetValue(defences) is { Length: > 0 } d ? d : RobustnessExperiment.DefaultDefences,
            parse.GetValue(attackers) is { Length: > 0 } k ? k : RobustnessExperiment.DefaultAttackers, parse.GetValue(name)!, ct)));
        return command;
    }

    private static int Run(string? config, IReadOnlyList<string> overrides, IReadOnlyList<string> attacks, IReadOnlyList<string> defences,
        IReadOnlyList<int> attackers, string name, CancellationToken ct)
    {
        var experiment = new RobustnessExperiment(config, overrides, attacks, defences, attackers, name);
        var cells = experiment.Cells;
        AnsiConsole.MarkupLine($"[bold]confer experiment robustness[/]: {attacks.Count} attacks × {defences.Count} defences × attackers " +
                               $"{string.Join("/", attackers)} of {experiment.Clients} clients = {cells.Count} runs in {Markup.Escape(experiment.Folder)}");
        var clock = Stopwatch.StartNew();
        var rows = GridConsole.RunCells(experiment,
            cell => $"attack {cell[RobustnessExperiment.AttackKey]}, defence {cell[RobustnessExperiment.DefenceKey]}, {experiment.Count(cell)} attacker(s)",
            row => $"final global loss {row.FinalLoss:F4}{(row.Compliance is { } c ? $", compliance {c.ToString("P0", CultureInfo.InvariantCulture)}" : "")}, {row.Seconds:F0} s",
            clock, ct);
        if (rows is null) return 130;
        var markdown = RobustnessReport.Write(experiment.Folder, rows, Setup(experiment));
        AnsiConsole.Write(new Markup(Markup.Escape(markdown)));
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.Combine(experiment.Folder, "robustness.md"))}, robustness.csv and robustness.html; {clock.Elapsed:h\\:mm\\:ss} this invocation");
        return 0;
    }

    /// <summary>The base experiment and the defences' parameters, as the reports state them.</summary>
    private static string Setup(RobustnessExperiment e)
    {
        var s = e.Base;
        return string.Create(CultureInfo.InvariantCulture,
            $"Base: {s.Strategy}, {e.Clients} clients, {s.Rounds} rounds, seed {s.Seed}, model {Path.GetFileName(s.Model.TrimEnd('/'))}, data {Path.GetFileName(s.Data.TrimEnd('/'))}; " +
            $"trim_ratio {s.TrimRatio}, byzantine_clients {s.ByzantineClients}, krum_keep {(s.KrumKeep is { } m ? m.ToString(CultureInfo.InvariantCulture) : "clients − f")}, norm_bound {s.NormBound}; " +
            $"attack_scale {(s.AttackScale is { } l ? l.ToString(CultureInfo.InvariantCulture) : "the attack's default")}.");
    }
}
