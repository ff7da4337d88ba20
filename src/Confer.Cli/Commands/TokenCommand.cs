using System.CommandLine;
using System.Globalization;
using Confer.Configuration;
using Confer.Federation.Deployment;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer token add|revoke|list</c>: the operator's client registry for a federation server. It works on the
/// server's state folder directly, also while the server runs: the server reads the registry on every call, so a new
/// or revoked token takes effect at once.
/// </summary>
internal static class TokenCommand
{
    public static Command Create() => new("token", "Issue, revoke and list the bearer tokens clients use to join a federation server.")
    {
        Add(),
        Revoke(),
        List(),
    };

    private static Command Add()
    {
        var client = ClientId();
        var state = State();
        var rotate = new Option<bool>("--rotate") { Description = "replace the client's active token (the old one stops working)" };
        var command = new Command("add", "Enrol a client (or re-enable a revoked one) and print its new token once.") { client, state, rotate };
        command.SetAction(parse =>
        {
            var id = parse.GetValue(client)!;
            using var store = ServerStore.Open(parse.GetValue(state)!);
            var token = store.IssueToken(id, parse.GetValue(rotate));
            AnsiConsole.WriteLine(token);
            AnsiConsole.MarkupLine($"[grey]Give this token to client '{Markup.Escape(id)}' over a private channel. Only its SHA-256 hash " +
                                   "is stored, so it cannot be shown again; if it is lost, issue a new one with --rotate.[/]");
            return 0;
        });
        return command;
    }

    private static Command Revoke()
    {
        var client = ClientId();
        var state = State();
        var command = new Command("revoke", "Revoke a client's token; its next call to the server is refused.") { client, state };
        command.SetAction(parse =>
        {
            var id = parse.GetValue(client)!;
            using var store = OpenExisting(parse.GetValue(state)!);
            store.Revoke(id);
            AnsiConsole.MarkupLine($"Revoked client '{Markup.Escape(id)}'.");
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var state = State();
        var command = new Command("list", "List enrolled clients with their status and when the server last saw them.") { state };
        command.SetAction(parse =>
        {
            using var store = OpenExisting(parse.GetValue(state)!);
            var table = new Table().AddColumn("id").AddColumn("status").AddColumn("enrolled (UTC)").AddColumn("last seen (UTC)");
            foreach (var c in store.Clients())
                table.AddRow(Markup.Escape(c.Id), c.Revoked ? "[red]revoked[/]" : "[green]active[/]", Format(c.EnrolledUtc),
                    c.LastSeenUtc is { } seen ? Format(seen) : "never");
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    private static Argument<string> ClientId() => new("client-id") { Description = "client id, e.g. hospital-3 (letters, digits, '_', '.', '-')" };

    private static Option<string> State() => new("--state")
    {
        Description = "the federation server's state folder (holds server.db)",
        Required = true,
    };

    /// <summary>Revoke and list read an existing registry; opening would otherwise create an empty one at a mistyped path.</summary>
    private static ServerStore OpenExisting(string folder)
    {
        if (!File.Exists(Path.Combine(folder, ServerStore.FileName)))
            throw new ConfigException($"--state '{folder}' holds no {ServerStore.FileName}; enrol a client first with confer token add <client-id> --state {folder}.");
        return ServerStore.Open(folder);
    }

    private static string Format(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
