using System.Diagnostics;
using Confer.Tests.Data;

namespace Confer.Tests.Cli;

/// <summary>
/// Mistakes on the command line read like Confer's own errors: one <c>error:</c> line naming what is wrong in the
/// user's words (no .NET type names, no parameter names, no help dump), exit code 2, before any work starts.
/// </summary>
public class CommandLineErrorTests
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "Confer.Cli.dll");

    [Theory]
    [InlineData("generate --top-p abc", "Cannot parse argument 'abc' for option '--top-p' as a number; see `confer generate --help`.")]
    [InlineData("simulat", "Unrecognized command or argument 'simulat'; see `confer --help`.")]
    [InlineData("generate --top-p 2 -p hi", "top_p must be in (0, 1].")]
    [InlineData("simulate --set rounds=abc", "--set: key 'rounds' has value 'abc'; expected integer.")]
    public async Task A_mistake_is_one_error_line_and_exit_code_2(string arguments, string message)
    {
        var (code, output) = await RunAsync(arguments.Split(' '));
        Assert.Equal(2, code);
        Assert.Equal($"error: {message}", Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Finetune_refuses_an_output_it_could_not_write_before_it_trains()
    {
        using var dir = new TempDir();
        var file = dir.File("adapter.txt");
        File.WriteAllText(file, "not a folder");
        var (code, output) = await RunAsync(["finetune", "-m", Path.Combine(DataPaths.RepoRoot, "models", "confer-base"),
            "-d", DataPaths.DollyShard("local_training_0.json"), "-o", file, "--steps", "1"]);
        Assert.Equal(2, code);
        Assert.Contains($"error: --out: '{file}' is a file", output, StringComparison.Ordinal);
        Assert.DoesNotContain("examples", output, StringComparison.Ordinal); // it stopped before reading the data

        var (folderCode, folderOutput) = await RunAsync(["finetune", "-m", Path.Combine(DataPaths.RepoRoot, "models", "confer-base"),
            "-d", Path.GetDirectoryName(DataPaths.DollyShard("local_training_0.json"))!, "-o", dir.File("out"), "--steps", "1"]);
        Assert.Equal(2, folderCode);
        Assert.Contains("is a folder; pass one of its JSON/JSONL files", folderOutput, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> RunAsync(string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = DataPaths.RepoRoot };
        info.ArgumentList.Add(Cli);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
