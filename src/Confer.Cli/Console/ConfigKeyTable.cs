using Confer.Configuration;
using Spectre.Console;

namespace Confer.Cli.Console;

/// <summary>The <c>--list-keys</c> table of a settings class: key, default (<c>unset</c> when it has none) and meaning.</summary>
internal static class ConfigKeyTable
{
    public static void Write<T>(T settings)
    {
        var table = new Table().AddColumn("key").AddColumn("default").AddColumn("meaning");
        foreach (var (key, _, value, description) in ConfigBinder.Describe(settings))
            table.AddRow(Markup.Escape(key), value.Length == 0 ? "[grey]unset[/]" : Markup.Escape(value), Markup.Escape(description));
        AnsiConsole.Write(table);
    }
}
