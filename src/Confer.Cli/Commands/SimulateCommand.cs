using System.CommandLine;
using Confer.Cli.Console;
using Confer.Configuration;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer simulate</c>: a federated experiment in one process. With no arguments it runs the built-in job (base
/// model, Dolly-15k Shepherd split, FedIT); <c>--config</c> reads a YAML experiment, <c>--set</c> overrides keys,
/// <c>--resume</c> continues an interrupted run folder.
/// </summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "experiment YAML file (flat keys; see --list-keys)" };
        var set = new Option<string[]>("--set") { Description = "override a key, e.g. --set rounds=20 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var seed = new Option<long?>("--seed") { Description = "random seed (the same as --set seed=N)" };
        var resume = new Option<string?>("--resume") { Description = "run folder to continue from its last completed round (--set rounds=N extends it)" };
        var listKeys = new Option<bool>("--list-keys") { Description = "print every config key with its default and exit" };
        var command = new Command("simulate", "Run a federated fine-tuning experiment in one process (the built-in Dolly/FedIT job by default).")
        {
            config, set, seed, resume, listKeys,
        };
        command.SetAction((parse, ct) =>
        {
            if (parse.GetValue(listKeys))
            {
                ConfigKeyTable.Write(new SimulationSettings());
                return Task.FromResult(0);
            }
            string[] overrides = [.. parse.GetValue(set) ?? [], .. parse.GetValue(seed) is { } s ? [$"seed={s}"] : Array.Empty<string>()];
            var resumeFolder = parse.GetValue(resume);
            string folder;
            SimulationSettings settings;
            if (resumeFolder is not null)
            {
                var stored = Path.Combine(resumeFolder, "config.yaml");
                if (!File.Exists(stored)) throw new ConfigException($"--resume: '{resumeFolder}' is not a run folder (no config.yaml).");
                // What the command asks for; the engine refuses anything but more rounds (ResumeRules).
                settings = ConfigBinder.Bind<SimulationSettings>(parse.GetValue(config) ?? stored, overrides);
                folder = resumeFolder;
            }
            else
            {
                settings = ConfigBinder.Bind<SimulationSettings>(parse.GetValue(config), overrides);
                folder = FreeFolder(Path.Combine(settings.Output, settings.Name));
            }
            AnsiConsole.MarkupLine($"run folder: {Markup.Escape(Path.GetFullPath(folder))}");
            if (settings.Bf16 && Models.LowPrecisionMatmuls.HardwareNote() is { } slow) AnsiConsole.MarkupLine($"[yellow]note:[/] {Markup.Escape(slow)}");
            return Task.FromResult(Run(settings, folder, resumeFolder is not null, ct));
        });
        return command;
    }

    private static int Run(SimulationSettings settings, string folder, bool resume, CancellationToken ct)
    {
        var progress = new SimulationConsole(settings.Rounds);
        var resumeCommand = $"./confer simulate --resume {folder}";
        SimulationResult result;
        try
        {
            result = progress.Run(() => SimulationEngine.Run(settings, folder, resume, progress, ct));
        }
        catch (RunStoppedException e)
        {
            CliErrors.Print($"{e.Message} Continue with: {resumeCommand}");
            return 1;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            var done = new RunFolder(folder).LastCompletedRound();
            AnsiConsole.MarkupLine(done > 0
                ? $"interrupted: rounds 1–{done} of {settings.Rounds} are saved in {Markup.Escape(folder)}; continue with: {Markup.Escape(resumeCommand)}"
                : $"interrupted before round 1 finished; {(Directory.Exists(folder) ? $"continue with: {Markup.Escape(resumeCommand)}" : "nothing was saved")}");
            return 130;
        }
        RunReport.Write(result.RunFolder);
        SimulationConsole.Summary(result);
        return 0;
    }

    /// <summary>A fresh run never overwrites an earlier one: runs/x, then runs/x-2, runs/x-3 ….</summary>
    private static string FreeFolder(string folder)
    {
        var candidate = folder;
        for (var i = 2; File.Exists(Path.Combine(candidate, "checkpoint.json")) || File.Exists(Path.Combine(candidate, "run.json")); i++)
            candidate = $"{folder}-{i}";
        return candidate;
    }
}
