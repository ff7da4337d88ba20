using System.Net;
using Confer.Configuration;

namespace Confer.Serving;

/// <summary>What <c>confer serve</c> serves and the bounds it puts on requests.</summary>
public sealed record ServeSettings
{
    /// <summary>Model folder (HF layout).</summary>
    public required string Model { get; init; }

    /// <summary>PEFT adapter folder applied on top of the model, or null.</summary>
    public string? Adapter { get; init; }

    /// <summary>The model id clients name in requests and see in <c>/v1/models</c>; null = the model folder's name.</summary>
    public string? Name { get; init; }

    /// <summary>IP address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface), or localhost.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 = any free port (the bound URL is printed and returned).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>Bearer key every <c>/v1</c> request must carry; empty = open.</summary>
    public string ApiKey { get; init; } = "";

    /// <summary>Prompt template (name or JSON file) that renders chat requests when the model has no chat format of its own; null = the plain format.</summary>
    public string? Template { get; init; }

    /// <summary>Largest <c>max_tokens</c> a request may ask for (also the chat default when a request names none).</summary>
    public int MaxTokens { get; init; } = 1024;

    /// <summary>Most choices one request may ask for (<c>n</c> × prompts).</summary>
    public int MaxChoices { get; init; } = 16;

    /// <summary>Requests that may wait for the model while it serves another; more are answered 429.</summary>
    public int MaxQueue { get; init; } = 32;

    /// <summary>cpu or cuda[:N].</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>One console line per request.</summary>
    public bool LogRequests { get; init; } = true;

    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ConfigException($"--port: {Port} is not a TCP port (0–65535; 0 = any free port).");
        Endpoint();
        if (MaxTokens < 1) throw new ConfigException($"--max-tokens: must be ≥ 1, not {MaxTokens}.");
        if (MaxChoices < 1) throw new ConfigException($"--max-n: must be ≥ 1, not {MaxChoices}.");
        if (MaxQueue < 0) throw new ConfigException($"--max-queue: must be ≥ 0, not {MaxQueue}.");
        if (Name is { } name && (name.Length == 0 || name.Any(char.IsWhiteSpace)))
            throw new ConfigException($"--name: '{name}' must be a non-empty id without spaces.");
    }

    /// <summary>The address to bind.</summary>
    public IPEndPoint Endpoint()
    {
        if (Host == "localhost") return new IPEndPoint(IPAddress.Loopback, Port);
        return IPAddress.TryParse(Host, out var address)
            ? new IPEndPoint(address, Port)
            : throw new ConfigException($"--host: '{Host}' is not an IP address (use 127.0.0.1 for this machine only, 0.0.0.0 for every interface).");
    }
}
