using System.CommandLine;
using Confer.Federation.Reporting;

namespace Confer.Cli.Commands;

/// <summary><c>confer report &lt;run&gt;</c>: (re)writes a run folder's report.html and plots/.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("run") { Description = "run folder (e.g. runs/dolly-fedit)" };
        var command = new Command("report", "Write report.html and plots for a run folder.") { run };
        command.SetAction(parse =>
        {
            System.Console.WriteLine(RunReport.Write(parse.GetValue(run)!));
            return 0;
        });
        return command;
    }
}
