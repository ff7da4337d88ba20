using System.CommandLine;
using Confer.Transport;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer certs</c>: a private CA and a server certificate for <c>confer server</c>, so a deployment gets TLS without
/// a public CA or an OpenSSL recipe.
/// </summary>
internal static class CertsCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "folder to write ca.crt, ca.key, server.crt and server.key into", Required = true };
        var hosts = new Option<string[]>("--host")
        {
            Description = "a DNS name or IP address clients use to reach the server (repeatable; localhost is always included)",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => ["localhost", "127.0.0.1"],
        };
        var days = new Option<int>("--days") { Description = "validity in days", DefaultValueFactory = _ => 365 };
        var force = new Option<bool>("--force") { Description = "replace existing certificate files (clients then need the new ca.crt)" };
        var command = new Command("certs", "Make a private CA and a TLS certificate for `confer server` (PEM files).")
        {
            output, hosts, days, force,
        };
        command.SetAction(parse =>
        {
            var folder = parse.GetValue(output)!;
            var names = parse.GetValue(hosts)!;
            DevCertificates.Create(folder, names, parse.GetValue(days), overwrite: parse.GetValue(force));

            var table = new Table().AddColumn("file").AddColumn("use");
            table.AddRow(Markup.Escape(Path.Combine(folder, DevCertificates.ServerCertificateFile)), "the server's certificate");
            table.AddRow(Markup.Escape(Path.Combine(folder, DevCertificates.ServerKeyFile)), "the server's private key (owner-only)");
            table.AddRow(Markup.Escape(Path.Combine(folder, DevCertificates.CaCertificateFile)), "give to every client: they trust only this CA");
            table.AddRow(Markup.Escape(Path.Combine(folder, DevCertificates.CaKeyFile)), "the CA's private key (owner-only): [red]keep it here[/]");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"Server certificate for {Markup.Escape(string.Join(", ", names.Append("localhost").Distinct(StringComparer.OrdinalIgnoreCase)))}, " +
                                   $"valid {parse.GetValue(days)} days.");
            AnsiConsole.MarkupLine($"The server uses [bold]{DevCertificates.ServerCertificateFile}[/] and [bold]{DevCertificates.ServerKeyFile}[/]; " +
                                   $"clients need only [bold]{DevCertificates.CaCertificateFile}[/]. Never copy [bold]{DevCertificates.CaKeyFile}[/] off this machine.");
            return 0;
        });
        return command;
    }
}
