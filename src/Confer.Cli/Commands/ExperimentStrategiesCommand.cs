using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Confer.Cli.Console;
using Confer.Federation.Experiments;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary><c>confer experiment strategies</c>: strategies × rank settings × seeds, mean ± std of final loss and bytes per round.</summary>
internal static class ExperimentStrategiesCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "base experiment YAML (default: the built-in Dolly 10-client FedIT job)" };
        var set = new Option<string[]>("--set") { Description = "override a base key, e.g. --set model=models/tiny (repeatable)", AllowMultipleArgumentsPerToken = true };
        var name = new Option<string>("--name") { Description = "experiment folder under the base output (cells go to <output>/<name>/cells)", DefaultValueFactory = _ => "strategies" };
        var strategies = new Option<string[]>("--strategies") { Description = $"strategies to compare (default: {string.Join(" ", StrategyExperiment.DefaultStrategies)})", AllowMultipleArgumentsPerToken = true };
        var seeds = new Option<int[]>("--seeds") { Description = "seeds each strategy runs with (default: 1 2 3)", AllowMultipleArgumentsPerToken = true };
        var rounds = new Option<int?>("--rounds") { Description = "rounds per run (default: the base experiment's rounds)" };
        var ranks = new Option<string[]>("--ranks") { Description = "rank settings: homogeneous (every client at lora_r), heterogeneous ([4, 32, 32, 16, 4] repeated), or a list like '[8, 16]' (default: homogeneous heterogeneous)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("strategies",
            "Compare strategies on one task (default: FedAvg, FedProx, FedAvgM, FedAdam, FedYogi, FLoRA, FlexLoRA, HetLoRA, FFA-LoRA on the Dolly 10-client split), " +
            "with every client at one rank and with heterogeneous ranks, each over several seeds: mean ± std of the final global test loss and bytes per round, " +
            "a Markdown table, a CSV and a plot. Resumable: finished cells are skipped, an interrupted one continues.")
        {
            config, set, name, strategies, seeds, rounds, ranks,
        };
        command.SetAction((parse, ct) => Task.FromResult(Run(parse.GetValue(config), [.. parse.GetValue(set) ?? [],
            .. parse.GetValue(rounds) is { } r ? [$"rounds={r.ToString(CultureInfo.InvariantCulture)}"] : Array.Empty<string>()],
            parse.GetValue(strategies) is { Length: > 0 } s ? s : StrategyExperiment.DefaultStrategies,
            [.. (parse.GetValue(ranks) is { Length: > 0 } k ? k : ["homogeneous", "heterogeneous"]).Select(RanksValue)],
            parse.GetValue(seeds) is { Length: > 0 } seedList ? seedList : StrategyExperiment.DefaultSeeds, parse.GetValue(name)!, ct)));
        return command;
    }

    private static string RanksValue(string setting) => setting switch
    {
        "homogeneous" => StrategyExperiment.DefaultRanks[0],
        "heterogeneous" => StrategyExperiment.DefaultRanks[1],
        _ => setting,
    };

    private static int Run(string? config, IReadOnlyList<string> overrides, IReadOnlyList<string> strategies, IReadOnlyList<string> ranks,
        IReadOnlyList<int> seeds, string name, CancellationToken ct)
    {
        var experiment = new StrategyExperiment(config, overrides, strategies, ranks, seeds, name);
        var cells = experiment.Cells;
        AnsiConsole.MarkupLine($"[bold]confer experiment strategies[/]: {strategies.Count} strategies × {ranks.Count} rank settings × {seeds.Count} seeds = {cells.Count} runs in {Markup.Escape(experiment.Folder)}");
        var clock = Stopwatch.StartNew();
        var rows = GridConsole.RunCells(experiment, cell => cell.ToString(),
            row => row.Refusal is { } refusal
                ? $"refused: {refusal}"
                : $"final global loss {row.FinalLoss:F4}, {row.BytesPerRound / 1e6:F3} MB per round (up + down), {row.Seconds:F0} s",
            clock, ct);
        if (rows is null) return 130;
        var markdown = StrategyReport.Write(experiment.Folder, rows, experiment.BaseRank);
        AnsiConsole.Write(new Markup(Markup.Escape(markdown)));
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.Combine(experiment.Folder, "strategies.md"))}, strategies.csv and strategies.png; {clock.Elapsed:h\\:mm\\:ss} this invocation");
        return 0;
    }
}
