using System.CommandLine;
using Confer.Cli.Console;
using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer server --config run.yaml</c>: the deployed federation's server. The YAML holds the experiment keys of
/// <c>confer simulate</c> plus the deployment keys (listen address, state folder, TLS files, deadlines …).
/// <c>confer fedcot server</c> is the same command for a FedCoT discriminator run.
/// </summary>
internal static class ServerCommand
{
    public static Command Create() => Create("server", "Run the federation server: clients on other machines connect over gRPC with TLS and per-client tokens.",
        "run YAML: experiment keys (as for simulate) plus deployment keys (see --list-keys)", "Experiment keys are those of [bold]confer simulate --list-keys[/].",
        (config, overrides) =>
        {
            var (run, server) = ConfigBinder.Bind<SimulationSettings, ServerSettings>(config, overrides);
            return (DeployedRun.InstructionTuning(run), server);
        });

    /// <summary>A server command whose run <paramref name="bind"/> makes from the config file and overrides.</summary>
    /// <param name="name">Command name.</param>
    /// <param name="description">Command help.</param>
    /// <param name="configHelp">Help of --config.</param>
    /// <param name="experimentKeysNote">Printed after the deployment keys by --list-keys: where the experiment keys are listed.</param>
    /// <param name="bind">Binds the config file and overrides to the run and the deployment keys.</param>
    public static Command Create(string name, string description, string configHelp, string experimentKeysNote,
        Func<string?, IReadOnlyList<string>, (DeployedRun Run, ServerSettings Server)> bind)
    {
        var config = new Option<string?>("--config", "-c") { Description = configHelp };
        var set = new Option<string[]>("--set") { Description = "override a key, e.g. --set rounds=20 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var listKeys = new Option<bool>("--list-keys") { Description = "print the deployment keys with their defaults and exit" };
        var command = new Command(name, description) { config, set, listKeys };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(listKeys))
            {
                ConfigKeyTable.Write(new ServerSettings());
                AnsiConsole.MarkupLine(experimentKeysNote);
                return 0;
            }
            var (run, server) = bind(parse.GetValue(config), parse.GetValue(set) ?? []);
            try
            {
                await FederationServer.RunAsync(run, server, ct);
                return 0;
            }
            catch (RunStoppedException e)
            {
                CliErrors.Print($"{e.Message} Restart the same command to continue.");
                return 1;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                AnsiConsole.MarkupLine("stopped; every committed round is kept — run the same command to continue.");
                return 130;
            }
        });
        return command;
    }
}
