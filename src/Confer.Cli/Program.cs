using System.CommandLine;
using Confer.Cli.Commands;
using Confer.Cli.Console;

namespace Confer.Cli;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        // In a pipe or a log file Spectre would wrap every line at 80 columns; a log reads better one event per line.
        if (System.Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = int.MaxValue / 2;
        var root = new RootCommand("confer — federated fine-tuning and reasoning enhancement of LLMs on TorchSharp") { HelpName = "confer" };
        foreach (var command in Commands()) root.Subcommands.Add(command);
        var parsed = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (parsed.Errors.Count > 0)
        {
            CliErrors.Print(ParseErrors.Describe(parsed));
            return 2;
        }
        // Our handler prints user errors as one line; System.CommandLine's default would print a stack trace.
        // Ctrl-C cancels the command's token; long commands stop after the current training step, which on a CPU can
        // take seconds, so the process is not killed before it has saved its state and restored the terminal.
        return await CliErrors.RunAsync(() => parsed.InvokeAsync(new InvocationConfiguration
        {
            EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromSeconds(60),
        }));
    }

    private static IEnumerable<Command> Commands() =>
    [
        SimulateCommand.Create(),
        ExperimentCommand.Create(),
        FedCotCommand.Create(),
        ServerCommand.Create(),
        ClientCommand.Create(),
        ReportCommand.Create(),
        PretrainCommand.Create(),
        FinetuneCommand.Create(),
        GenerateCommand.Create(),
        ServeCommand.Create(),
        TokenizeCommand.Create(),
        ConvertCommand.Create(),
        CertsCommand.Create(),
        BenchCommand.Create(),
        TokenCommand.Create(),
    ];
}
