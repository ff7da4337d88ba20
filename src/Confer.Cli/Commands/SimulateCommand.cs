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
        var resume = new Option<string?>("--resume") { Description = "run folder to continue from its last completed round" };
        var listKeys = new Option<bool>("--list-keys") { Description = "print every config key with its default and exit" };
        var command = new Command("simulate", "Run a federated fine-tuning experiment in one process (the built-in Dolly/FedIT job by default).")
        {
            config, set, resume, listKeys,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(listKeys))
            {
                ConfigKeyTable.Write(new SimulationSettings());
                return 0;
            }
            string folder;
            SimulationSettings settings;
            if (parse.GetValue(resume) is { } resumeFolder)
            {
                var stored = Path.Combine(resumeFolder, "config.yaml");
                if (!File.Exists(stored)) throw new ConfigException($"--resume: '{resumeFolder}' is not a run folder (no config.yaml).");
                settings = ConfigBinder.Bind<SimulationSettings>(stored, []);
                folder = resumeFolder;
            }
            else
            {
                settings = ConfigBinder.Bind<SimulationSettings>(parse.GetValue(config), parse.GetValue(set) ?? []);
                folder = FreeFolder(Path.Combine(settings.Output, settings.Name));
            }
            var progress = new SimulationConsole(settings.Rounds);
            SimulationResult result;
            try
            {
                result = progress.Run(() => SimulationEngine.Run(settings, folder, resume: parse.GetValue(resume) is not null, progress));
            }
            catch (RunStoppedException e)
            {
                CliErrors.Print($"{e.Message} Continue with: ./confer simulate --resume {folder}");
                return 1;
            }
            RunReport.Write(result.RunFolder);
            SimulationConsole.Summary(result);
            return 0;
        });
        return command;
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
