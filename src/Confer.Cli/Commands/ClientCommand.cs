using System.CommandLine;
using Confer.Configuration;
using Confer.Federation.Deployment;
using Microsoft.Extensions.Logging;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer client --server https://host:port --token … --data …</c>: one site of a deployed federation. Options
/// override the keys of an optional <c>--config</c> YAML. <c>confer fedcot client</c> is the same command for a
/// FedCoT discriminator site, with its extra keys.
/// </summary>
internal static class ClientCommand
{
    public static Command Create() => Create("client", "Join a federation server, train on local data each round it is selected, push the adapter update.",
        "this client's instruction data (JSON/JSONL); it never leaves this machine", "base model folder (must match the server's)",
        "client YAML (keys: server, token, token_file, ca, data, model, device, threads, lora_r, max_local_steps, state …)",
        [], (config, overrides) => (ConfigBinder.Bind<ClientSettings>(config, overrides), new InstructionTuningSite()));

    /// <summary>A client command: the options every site has, <paramref name="extra"/> options, and the site that <paramref name="bind"/> makes.</summary>
    /// <param name="name">Command name.</param>
    /// <param name="description">Command help.</param>
    /// <param name="dataHelp">Help of --data: what this kind of site reads.</param>
    /// <param name="modelHelp">Help of --model.</param>
    /// <param name="configHelp">Help of --config.</param>
    /// <param name="extra">Further options as (key, option): a given option becomes <c>key=value</c>.</param>
    /// <param name="bind">Binds the config file and overrides to the client's keys and its site.</param>
    public static Command Create(string name, string description, string dataHelp, string modelHelp, string configHelp,
        IReadOnlyList<(string Key, Option<string?> Option)> extra, Func<string?, IReadOnlyList<string>, (ClientSettings Settings, IClientSite Site)> bind)
    {
        var config = new Option<string?>("--config", "-c") { Description = configHelp };
        var set = new Option<string[]>("--set") { Description = "override a key, e.g. --set threads=2 (repeatable)", AllowMultipleArgumentsPerToken = true };
        (string, Option<string?>)[] common =
        [
            ("server", new Option<string?>("--server") { Description = "server URL, e.g. https://fl.example.org:50051" }),
            ("token", new Option<string?>("--token") { Description = "this client's token from the operator (or token_file in the YAML)" }),
            ("ca", new Option<string?>("--ca") { Description = "CA certificate that signed the server's (ca.crt from `confer certs`)" }),
            ("data", new Option<string?>("--data") { Description = dataHelp }),
            ("model", new Option<string?>("--model", "-m") { Description = modelHelp }),
            ("state", new Option<string?>("--state") { Description = "folder for what this client keeps between rounds (error-feedback residuals), so a restart continues exactly" }),
        ];
        var command = new Command(name, description) { config, set };
        foreach (var (_, option) in common.Concat(extra)) command.Options.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            var overrides = (parse.GetValue(set) ?? []).ToList();
            foreach (var (key, option) in common.Concat(extra))
                if (parse.GetValue(option) is { } v) overrides.Add($"{key}={v}");
            var (settings, site) = bind(parse.GetValue(config), overrides);
            using var logs = LoggerFactory.Create(b =>
            {
                if (settings.LogFormat == "json") b.AddJsonConsole(o => { o.TimestampFormat = "O"; o.UseUtcTimestamp = true; });
                else b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
            });
            using var client = new DeployedClient(settings, site, logs.CreateLogger("Confer.Client"));
            try
            {
                return await client.RunAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 130;
            }
        });
        return command;
    }
}
