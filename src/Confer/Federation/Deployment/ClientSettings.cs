using Confer.Configuration;

namespace Confer.Federation.Deployment;

/// <summary>
/// The keys of <c>confer client</c> (a YAML file, <c>--set</c>, or the matching command-line options). Only this
/// file names the client's data: the server never sees it, and the training recipe comes from the server.
/// </summary>
public sealed class ClientSettings
{
    [ConfigKey("server", "server URL, e.g. https://fl.example.org:50051")] public string Server { get; set; } = "";
    [ConfigKey("token", "this client's token, issued by the server operator (`confer token add`)")] public string Token { get; set; } = "";
    [ConfigKey("token_file", "file holding the token (instead of token; keeps it out of the process list)")] public string TokenFile { get; set; } = "";
    [ConfigKey("ca", "CA certificate that signed the server's (ca.crt from `confer certs`; empty = system trust store)")] public string Ca { get; set; } = "";
    [ConfigKey("data", "this client's instruction data (JSON or JSONL; never leaves the machine)")] public string Data { get; set; } = "";
    [ConfigKey("model", "base model folder; must be the server's base model")] public string Model { get; set; } = "models/confer-base";
    [ConfigKey("device", "cpu or cuda[:N]")] public string Device { get; set; } = "cpu";
    [ConfigKey("threads", "torch CPU threads (0 = default)")] public int Threads { get; set; }
    [ConfigKey("lora_r", "LoRA rank this client trains at (0 = the run's); a mismatch with the run is refused at join")] public int LoraRank { get; set; }
    [ConfigKey("max_local_steps", "compute budget: at most this many optimiser steps per round (0 = the run's local_steps)")] public int MaxLocalSteps { get; set; }
    [ConfigKey("max_backoff_s", "longest wait between reconnection attempts")] public double MaxBackoffSeconds { get; set; } = 30;
    [ConfigKey("log_format", "console log format: text or json")] public string LogFormat { get; set; } = "text";
    [ConfigKey("give_up_after_s", "stop when the server has been unreachable this long (0 = never)")] public double GiveUpAfterSeconds { get; set; }
    [ConfigKey("state", "folder for what this client keeps between rounds (error-feedback residuals of a top-k uplink), so a restarted client continues exactly; empty = memory only")]
    public string State { get; set; } = "";

    /// <summary>Checks the keys and returns the token (from <see cref="Token"/> or <see cref="TokenFile"/>).</summary>
    public string Validate()
    {
        if (Server.Length == 0) throw new ConfigException("server: missing; pass --server https://host:port.");
        if (!Uri.TryCreate(Server, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            throw new ConfigException($"server: '{Server}' must be an https:// URL (tokens never travel in clear text).");
        if (Data.Length == 0) throw new ConfigException("data: missing; pass --data <your instruction JSON/JSONL file>.");
        if (!File.Exists(Data)) throw new ConfigException($"data: '{Data}' does not exist.");
        if (!Directory.Exists(Model)) throw new ConfigException($"model: folder '{Model}' does not exist.");
        if (Ca.Length > 0 && !File.Exists(Ca)) throw new ConfigException($"ca: '{Ca}' does not exist (copy ca.crt from the server operator).");
        if (LogFormat is not ("text" or "json")) throw new ConfigException($"log_format: '{LogFormat}' is not text or json.");
        if (LoraRank < 0 || MaxLocalSteps < 0 || Threads < 0) throw new ConfigException("lora_r/max_local_steps/threads: must be ≥ 0.");
        var token = Token.Length > 0 ? Token : TokenFile.Length > 0 ? ReadTokenFile() : "";
        if (token.Length == 0) throw new ConfigException("token: missing; pass --token or token_file (ask the server operator for one).");
        return token;
    }

    private string ReadTokenFile() =>
        File.Exists(TokenFile) ? File.ReadAllText(TokenFile).Trim() : throw new ConfigException($"token_file: '{TokenFile}' does not exist.");
}
