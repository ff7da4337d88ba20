using System.CommandLine;
using Confer.Serving;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer serve -m model [--adapter …] [--port N]</c>: the model behind OpenAI's HTTP API until Ctrl+C, so any
/// OpenAI client — and FedCoT's endpoint actor — can use it.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var adapter = new Option<string?>("--adapter") { Description = "PEFT adapter folder to apply (e.g. a run's final/adapter)" };
        var name = new Option<string?>("--name") { Description = "model id clients send and /v1/models lists (default: the model folder's name)" };
        var host = new Option<string>("--host") { Description = "address to listen on: 127.0.0.1 = this machine only, 0.0.0.0 = every interface", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0 = any free port)", DefaultValueFactory = _ => 8000 };
        var apiKey = new Option<string?>("--api-key") { Description = "bearer key every /v1 request must send (default: $CONFER_API_KEY; unset = open)" };
        var template = new Option<string?>("--template") { Description = "prompt template (name or JSON) that renders chat requests, e.g. alpaca for a model Confer instruction-tuned (default: plain System:/User:/Assistant: lines)" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "largest max_tokens a request may ask for; also a chat request's default", DefaultValueFactory = _ => 1024 };
        var maxN = new Option<int>("--max-n") { Description = "most choices per request (n × prompts)", DefaultValueFactory = _ => 16 };
        var maxQueue = new Option<int>("--max-queue") { Description = "requests that may wait while the model serves another; more get 429", DefaultValueFactory = _ => 32 };
        var device = CommonOptions.Device();
        var command = new Command("serve", "Serve a model over OpenAI's API: /v1/completions, /v1/chat/completions (streaming or not), /v1/models.")
        {
            model, adapter, name, host, port, apiKey, template, maxTokens, maxN, maxQueue, device,
        };
        command.SetAction(async (parse, ct) =>
        {
            var settings = new ServeSettings
            {
                Model = parse.GetValue(model)!, Adapter = parse.GetValue(adapter), Name = parse.GetValue(name), Host = parse.GetValue(host)!,
                Port = parse.GetValue(port), ApiKey = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("CONFER_API_KEY") ?? "",
                Template = parse.GetValue(template), MaxTokens = parse.GetValue(maxTokens), MaxChoices = parse.GetValue(maxN),
                MaxQueue = parse.GetValue(maxQueue), Device = parse.GetValue(device)!,
            };
            settings.Validate();
            using var served = ServedModel.Load(settings);
            await using var server = await OpenAiServer.StartAsync(served, settings, ct);
            // Scripts and tests read this line for the port when started with --port 0.
            System.Console.WriteLine($"Serving '{served.Name}' at {server.Url}v1 (chat format: {served.Chat.Description}; " +
                $"{(settings.ApiKey.Length > 0 ? "bearer key required" : "no key: anyone who reaches the port may use it")}). Ctrl+C stops.");
            await server.RunUntilCancelledAsync(ct);
            System.Console.WriteLine("stopped.");
            return 0;
        });
        return command;
    }
}
