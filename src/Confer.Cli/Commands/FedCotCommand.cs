using System.CommandLine;

namespace Confer.Cli.Commands;

/// <summary><c>confer fedcot</c>: federated reasoning enhancement (FedCoT) with its baselines.</summary>
internal static class FedCotCommand
{
    public static Command Create()
    {
        var command = new Command("fedcot", "FedCoT: a federated discriminator that picks the best of K chains of thought.")
        {
            FedCotSuiteCommand.Create(),
        };
        return command;
    }
}
