using Confer.Configuration;
using Spectre.Console;

namespace Confer.Cli.Console;

/// <summary>
/// Turns the errors a user can fix (bad config, bad files, bad arguments) into one clear red line and exit code 2,
/// and explains the one native-library failure whose own message is misleading.
/// </summary>
internal static class CliErrors
{
    /// <summary>
    /// Errors go to standard error, one line each: Spectre would wrap them at 80 columns when the output is a pipe or
    /// a log file, so the width is unbounded there.
    /// </summary>
    private static readonly IAnsiConsole Error = CreateErrorConsole();

    /// <summary>Prints <c>error: message</c> as one line on standard error.</summary>
    public static void Print(string message) => Error.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");

    /// <summary>
    /// An exception's message for a user: .NET appends "(Parameter 'TopP')" and "Actual value was …" to argument
    /// exceptions, which name C# members rather than the option the user typed.
    /// </summary>
    public static string UserMessage(Exception e) =>
        e is ArgumentException a && a.ParamName is { } name
            ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal).Split(Environment.NewLine + "Actual value was", 2)[0]
            : e.Message;

    public static async Task<int> RunAsync(Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (Exception e) when (e is ConfigException or InvalidDataException or IOException or UnauthorizedAccessException
                                       or NotSupportedException or ArgumentException)
        {
            Print(UserMessage(e));
            return 2;
        }
        catch (Exception e) when (IsNativeLoadFailure(e))
        {
            Print("TorchSharp's native library could not be loaded. On Debian 12 this means the build's " +
                "GLIBCXX_3.4.32 patch did not run on the copy in the output folder: rebuild with `dotnet build` (see docs/design.md).");
            Error.WriteLine(e.ToString());
            return 3;
        }
    }

    private static IAnsiConsole CreateErrorConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });
        if (System.Console.IsErrorRedirected) console.Profile.Width = int.MaxValue / 2;
        return console;
    }

    // TorchSharp reports a missing/unloadable libLibTorchSharp.so as a missing libtorch package reference.
    private static bool IsNativeLoadFailure(Exception e) =>
        e is TypeInitializationException or DllNotFoundException ||
        e.Message.Contains("libtorch-cpu-linux-x64", StringComparison.Ordinal) ||
        (e.InnerException is { } inner && IsNativeLoadFailure(inner));
}
