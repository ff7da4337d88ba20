using System.CommandLine;
using Confer.Configuration;
using Confer.Federation.Deployment;
using Microsoft.Extensions.Logging;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer client --server https://host:port --token … --data …</c>: one site of a deployed federation. Options
/// override the keys of an optional <c>--config</c> YAML.
/// </summary>
internal static class ClientCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "client YAML (keys: server, token, token_file, ca, data, model, device, threads, lora_r, max_local_steps, state …)" };
        var set = new Option<string[]>("--set") { Description = "override a key, e.g. --set threads=2 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var server = new Option<string?>("--server") { Description = "server URL, e.g. https://fl.example.org:50051" };
        var token = new Option<string?>("--token") { Description = "this client's token from the operator (or token_file in the YAML)" };
        var ca = new Option<string?>("--ca") { Description = "CA certificate that signed the server's (ca.crt from `confer certs`)" };
        var data = new Option<string?>("--data") { Description = "this client's instruction data (JSON/JSONL); it never leaves this machine" };
        var model = new Option<string?>("--model", "-m") { Description = "base model folder (must match the server's)" };
        var state = new Option<string?>("--state") { Description = "folder for what this client keeps between rounds (error-feedback residuals), so a restart continues exactly" };
        var command = new Command("client", "Join a federation server, train on local data each round it is selected, push the adapter update.")
        {
            config, set, server, token, ca, data, model, state,
        };
        command.SetAction(async (parse, ct) =>
        {
            var overrides = (parse.GetValue(set) ?? []).ToList();
            void Add(string key, Option<string?> option)
            {
                if (parse.GetValue(option) is { } v) overrides.Add($"{key}={v}");
            }
            Add("server", server);
            Add("token", token);
            Add("ca", ca);
            Add("data", data);
            Add("model", model);
            Add("state", state);
            var settings = ConfigBinder.Bind<ClientSettings>(parse.GetValue(config), overrides);
            using var logs = LoggerFactory.Create(b =>
            {
                if (settings.LogFormat == "json") b.AddJsonConsole(o => { o.TimestampFormat = "O"; o.UseUtcTimestamp = true; });
                else b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
            });
            using var client = new DeployedClient(settings, logs.CreateLogger("Confer.Client"));
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
