using System.CommandLine;
using System.Diagnostics;
using Confer.Cli.Console;
using Confer.Federation.Experiments;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary><c>confer experiment</c>: grids of simulations that answer one question each.</summary>
internal static class ExperimentCommand
{
    public static Command Create() => new("experiment",
        "Run a grid of simulations and tabulate the answer (comm: bytes vs loss per codec and rank; strategies: strategies × ranks × seeds; " +
        "robustness: attacks × defences × attackers).")
    {
        CommCommand(),
        ExperimentStrategiesCommand.Create(),
        ExperimentRobustnessCommand.Create(),
    };

    /// <summary>The default uplink codecs: fp32, a cast, quantisers, and sparsifiers with quantised values.</summary>
    private static readonly string[] DefaultCodecs =
        ["identity", "bf16", "int8 > zstd", "int4 > zstd", "topk:0.1 > int8 > zstd", "topk:0.05 > int8 > zstd", "sparse-lora:0.1 > int8 > zstd"];

    private static Command CommCommand()
    {
        var config = new Option<string?>("--config", "-c") { Description = "base experiment YAML (default: the built-in Dolly/FedIT job)" };
        var set = new Option<string[]>("--set") { Description = "override a base key, e.g. --set rounds=3 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var name = new Option<string>("--name") { Description = "experiment folder under the base output (cells go to <output>/<name>/cells)", DefaultValueFactory = _ => "comm" };
        var codecs = new Option<string[]>("--codec") { Description = "uplink codec chains to compare (repeatable; quote chains with '>')", AllowMultipleArgumentsPerToken = true };
        var downlinks = new Option<string[]>("--downlink-codec") { Description = "downlink codec chains (repeatable; default: the base's downlink_codec)", AllowMultipleArgumentsPerToken = true };
        var ranks = new Option<int[]>("--rank") { Description = "LoRA ranks (repeatable; default: the base's lora_r)", AllowMultipleArgumentsPerToken = true };
        var methods = new Option<string[]>("--peft-method")
        {
            Description = "PEFT methods to compare: lora, prompt, adapter (repeatable; default: the base's peft_method, not a grid axis). " +
                          "Ranks are LoRA's: prompt and adapter cells run at the first --rank only",
            AllowMultipleArgumentsPerToken = true,
        };
        methods.AcceptOnlyFromAmong("lora", "prompt", "adapter");
        var command = new Command("comm",
            "One task under a grid of (PEFT method ×) uplink codec × downlink codec × LoRA rank: bytes moved against final global test loss, with fp32 LoRA FedIT as the reference. " +
            "Resumable: finished cells are skipped, an interrupted one continues.")
        {
            config, set, name, codecs, downlinks, ranks, methods,
        };
        command.SetAction((parse, ct) =>
        {
            var overrides = parse.GetValue(set) ?? [];
            var baseSettings = Configuration.ConfigBinder.Bind<Federation.Simulation.SimulationSettings>(parse.GetValue(config), overrides);
            // The method axis exists only when asked for, so the cell folders of grids run without it keep their names (and resume).
            IReadOnlyList<GridAxis> methodAxis = parse.GetValue(methods) is { Length: > 0 } m ? [new GridAxis(CommExperiment.PeftKey, "peft", m)] : [];
            var grid = new ExperimentGrid(
            [
                .. methodAxis,
                new GridAxis(CommExperiment.UplinkKey, "up", parse.GetValue(codecs) is { Length: > 0 } c ? c : DefaultCodecs),
                new GridAxis(CommExperiment.DownlinkKey, "down", parse.GetValue(downlinks) is { Length: > 0 } d ? d : [baseSettings.DownlinkCodec]),
                new GridAxis(CommExperiment.RankKey, "r", parse.GetValue(ranks) is { Length: > 0 } r ? [.. r.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture))] : [baseSettings.LoraRank.ToString(System.Globalization.CultureInfo.InvariantCulture)]),
            ]);
            var experiment = new CommExperiment(parse.GetValue(config), overrides, grid, parse.GetValue(name)!);
            foreach (var cell in experiment.Cells) experiment.Settings(cell); // every cell's settings are valid before the first runs
            AnsiConsole.MarkupLine($"[bold]confer experiment comm[/]: {experiment.Cells.Count} cells in {Markup.Escape(experiment.Folder)}");
            var clock = Stopwatch.StartNew();
            var rows = GridConsole.RunCells(experiment, cell => $"{cell}{(cell.SameAs(experiment.Reference) ? " (fp32 reference)" : "")}",
                row => $"final global loss {row.FinalLoss:F4}, uplink {row.UpBytes / 1e6:F3} MB, downlink {row.DownBytes / 1e6:F3} MB, {row.Seconds:F0} s",
                clock, ct);
            if (rows is null) return Task.FromResult(130);
            var summary = CommReport.Write(experiment.Folder, rows);
            AnsiConsole.Write(new Markup(Markup.Escape(CommReport.Markdown(rows, rows.Single(r => r.IsReference)))));
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(summary)}[/]");
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.Combine(experiment.Folder, "comm.md"))}, comm.csv and comm.png; {clock.Elapsed:h\\:mm\\:ss} this invocation");
            return Task.FromResult(0);
        });
        return command;
    }
}
