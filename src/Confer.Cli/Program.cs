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
        var root = new RootCommand("confer — federated fine-tuning and reasoning enhancement of LLMs on TorchSharp");
        foreach (var command in Commands()) root.Subcommands.Add(command);
        // Our handler prints user errors as one line; System.CommandLine's default would print a stack trace.
        return await CliErrors.RunAsync(() => root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }

    private static IEnumerable<Command> Commands() =>
    [
        SimulateCommand.Create(),
        FedCotCommand.Create(),
        ServerCommand.Create(),
        ClientCommand.Create(),
        ReportCommand.Create(),
        PretrainCommand.Create(),
        FinetuneCommand.Create(),
        GenerateCommand.Create(),
        ConvertCommand.Create(),
        CertsCommand.Create(),
        BenchCommand.Create(),
        TokenCommand.Create(),
    ];
}
