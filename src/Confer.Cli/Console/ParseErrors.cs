using System.CommandLine;
using System.Text.RegularExpressions;

namespace Confer.Cli.Console;

/// <summary>
/// Command-line mistakes in Confer's own style: one <c>error:</c> line in the user's words (no .NET type names, no help
/// dump), a pointer to the command's <c>--help</c>, exit code 2 — like every other error a user can fix.
/// </summary>
internal static partial class ParseErrors
{
    /// <summary>The one line for <paramref name="result"/>'s first error.</summary>
    public static string Describe(ParseResult result)
    {
        var messages = result.Errors.Select(e => e.Message).ToList();
        var first = messages.FirstOrDefault(m => !m.Contains('\n') && !m.StartsWith("Required command", StringComparison.Ordinal)) ?? messages[0].Split('\n')[0];
        return $"{Humanize(first).TrimEnd('.')}; see `{CommandPath(result.CommandResult.Command)} --help`.";
    }

    /// <summary>"confer generate", from the matched command up to the root.</summary>
    private static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null and not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault()) names.Insert(0, c.Name);
        return string.Join(' ', names.Prepend("confer"));
    }

    /// <summary>System.CommandLine names .NET types ("expected type 'System.Double'"); users read "a number".</summary>
    private static string Humanize(string message) => TypeName().Replace(message, m => m.Groups[1].Value switch
    {
        "Double" or "Single" or "Decimal" => "a number",
        "Int32" or "Int64" or "Int16" or "UInt32" or "UInt64" => "a whole number",
        "Boolean" => "true or false",
        "String" => "text",
        var other => other.ToLowerInvariant(),
    }).Replace(" as expected type ", " as ", StringComparison.Ordinal);

    [GeneratedRegex(@"'System\.(?:Nullable`1\[)?(?:System\.)?(\w+)\]?(?:\[\])?'")]
    private static partial Regex TypeName();
}
