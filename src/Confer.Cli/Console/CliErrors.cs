using Confer.Configuration;
using Spectre.Console;

namespace Confer.Cli.Console;

/// <summary>
/// Turns the errors a user can fix (bad config, bad files, bad arguments) into one clear red line and exit code 2,
/// and explains the one native-library failure whose own message is misleading.
/// </summary>
internal static class CliErrors
{
    public static async Task<int> RunAsync(Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (Exception e) when (e is ConfigException or InvalidDataException or IOException
                                       or NotSupportedException or ArgumentException)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 2;
        }
        catch (Exception e) when (IsNativeLoadFailure(e))
        {
            AnsiConsole.MarkupLine("[red]error:[/] TorchSharp's native library could not be loaded. On Debian 12 this means the build's " +
                "GLIBCXX_3.4.32 patch did not run on the copy in the output folder: rebuild with `dotnet build` (see docs/design.md).");
            AnsiConsole.WriteLine(e.ToString());
            return 3;
        }
    }

    // TorchSharp reports a missing/unloadable libLibTorchSharp.so as a missing libtorch package reference.
    private static bool IsNativeLoadFailure(Exception e) =>
        e is TypeInitializationException or DllNotFoundException ||
        e.Message.Contains("libtorch-cpu-linux-x64", StringComparison.Ordinal) ||
        (e.InnerException is { } inner && IsNativeLoadFailure(inner));
}
