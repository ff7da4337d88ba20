using System.CommandLine;
using Confer.Cli.Console;
using Confer.Configuration;
using Confer.Reasoning.FedCot;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer fedcot</c>: federated reasoning enhancement (FedCoT) with its baselines. With no arguments it runs the
/// built-in arithmetic suite with the shipped actor and encoder; <c>--config</c>/<c>--set</c> choose anything else
/// (<c>--suite medical</c>, an endpoint actor, K, ranks …). <c>confer fedcot suite</c> writes the built-in suite.
/// </summary>
internal static class FedCotCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "experiment YAML file (flat keys; see --list-keys)" };
        var set = new Option<string[]>("--set") { Description = "override a key, e.g. --set k=8 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var suite = new Option<string?>("--suite") { Description = "arithmetic (built in, default) or medical (data sets under data_root); the same as --set suite=NAME" };
        var seed = new Option<long?>("--seed") { Description = "random seed (the same as --set seed=N)" };
        var listKeys = new Option<bool>("--list-keys") { Description = "print every config key with its default and exit" };
        var command = new Command("fedcot",
            "FedCoT: K chains of thought per question from a local LLM, a federated discriminator (LoRA stacked with FLoRA, head averaged) picks the best; "
            + "prints and writes the table against greedy CoT, self-consistency, local discriminators, Fed-SFT and pass@K.")
        {
            config, set, suite, seed, listKeys, FedCotSuiteCommand.Create(), FedCotDeploymentCommands.Server(), FedCotDeploymentCommands.Client(),
        };
        command.SetAction((parse, ct) =>
        {
            if (parse.GetValue(listKeys))
            {
                ConfigKeyTable.Write(new FedCotSettings());
                return Task.FromResult(0);
            }
            string[] overrides =
            [
                .. parse.GetValue(suite) is { } name ? [$"suite={name}"] : Array.Empty<string>(),
                .. parse.GetValue(set) ?? [],
                .. parse.GetValue(seed) is { } s ? [$"seed={s}"] : Array.Empty<string>(),
            ];
            var settings = ConfigBinder.Bind<FedCotSettings>(parse.GetValue(config), overrides);
            settings.Validate();
            var folder = FreeFolder(Path.Combine(settings.Output, settings.Name));
            AnsiConsole.MarkupLine($"run folder: {Markup.Escape(Path.GetFullPath(folder))}");
            return Task.FromResult(Run(settings, folder, ct));
        });
        return command;
    }

    private static int Run(FedCotSettings settings, string folder, CancellationToken ct)
    {
        var progress = new FedCotConsole();
        FedCotResult result;
        try
        {
            progress.Phase($"loading the actor {settings.Actor}");
            using var actor = ActorSource.Open(settings);
            result = FedCotExperiment.Run(settings, folder, actor, progress, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Candidates are cached per split as soon as a split is complete; the discriminator and Fed-SFT runs are
            // short and start afresh, so "resume" is running the same command again.
            AnsiConsole.MarkupLine($"interrupted; the candidates of every finished split are cached in {Markup.Escape(Path.GetFullPath(settings.Cache))}. "
                + "Run the same command again to continue: cached candidates are reused, the discriminator and baselines train again in a new run folder.");
            return 130;
        }
        AnsiConsole.WriteLine();
        AnsiConsole.WriteLine(result.ToMarkdown());
        AnsiConsole.MarkupLine($"table: {Markup.Escape(Path.Combine(result.RunFolder, FedCotResult.TableFile))}; report: {Markup.Escape(Path.Combine(result.RunFolder, "report.html"))}; {result.Seconds:F0} s");
        return 0;
    }

    /// <summary>A fresh run never overwrites an earlier one: runs/fedcot, then runs/fedcot-2, runs/fedcot-3 ….</summary>
    private static string FreeFolder(string folder)
    {
        var candidate = folder;
        for (var i = 2; Directory.Exists(candidate) && Directory.EnumerateFileSystemEntries(candidate).Any(); i++)
            candidate = $"{folder}-{i}";
        return candidate;
    }
}
