using Confer.Configuration;

namespace Confer.Federation.Deployment;

/// <summary>
/// The deployment keys of <c>confer server --config run.yaml</c>. The same file also holds the experiment keys of
/// <see cref="Simulation.SimulationSettings"/> (strategy, rounds, seed, training recipe …), so one file describes a
/// run whether it is simulated or deployed.
/// </summary>
public sealed class ServerSettings
{
    [ConfigKey("listen", "address:port the server listens on (0.0.0.0 = every interface; port 0 = any free port, written to <state>/endpoint.json)")]
    public string Listen { get; set; } = "0.0.0.0:50051";
    [ConfigKey("state", "server state folder: server.db (SQLite), rounds/round-N/ (safetensors), final/")] public string State { get; set; } = "server-state";
    [ConfigKey("tls_cert", "server certificate (PEM; `confer certs` makes one)")] public string TlsCert { get; set; } = "certs/server.crt";
    [ConfigKey("tls_key", "server private key (PEM)")] public string TlsKey { get; set; } = "certs/server.key";
    [ConfigKey("min_available_clients", "connected clients needed before a round selects (use the number of enrolled clients for reproducible selection)")]
    public int MinAvailableClients { get; set; } = 1;
    [ConfigKey("wait_timeout_s", "how long a round waits for min_available_clients before the server stops with an error")] public double WaitTimeoutSeconds { get; set; } = 3600;
    [ConfigKey("round_deadline_s", "seconds selected clients have to return their update; later ones are dropped from the round")]
    public double RoundDeadlineSeconds { get; set; } = 1800;
    [ConfigKey("heartbeat_s", "clients heartbeat this often; one silent for 3 intervals is dropped from its round")] public double HeartbeatSeconds { get; set; } = 10;
    [ConfigKey("min_returned", "updates a round needs to aggregate")] public int MinReturned { get; set; } = 1;
    [ConfigKey("on_short_round", "when fewer than min_returned updates arrive: retry (run the round again) or fail (stop; a restart retries)")]
    public string OnShortRound { get; set; } = "retry";
    [ConfigKey("max_round_attempts", "attempts per round before the server stops with an error")] public int MaxRoundAttempts { get; set; } = 3;
    [ConfigKey("max_update_mb", "largest update a client may send, in MiB")] public int MaxUpdateMb { get; set; } = 4096;
    [ConfigKey("linger_s", "after the last round, keep answering clients this long so they learn the run finished")] public double LingerSeconds { get; set; } = 15;
    [ConfigKey("log_format", "console log format: text or json")] public string LogFormat { get; set; } = "text";
    [ConfigKey("status_token", "bearer token /status requires (empty = /status is open to anyone who reaches the port)")] public string StatusToken { get; set; } = "";

    public void Validate()
    {
        Require(MinAvailableClients >= 1 && MinReturned >= 1 && MaxRoundAttempts >= 1, "min_available_clients/min_returned/max_round_attempts", "≥ 1");
        Require(RoundDeadlineSeconds > 0 && HeartbeatSeconds > 0 && WaitTimeoutSeconds > 0, "round_deadline_s/heartbeat_s/wait_timeout_s", "> 0");
        Require(LingerSeconds >= 0, "linger_s", "≥ 0");
        Require(MaxUpdateMb >= 1, "max_update_mb", "≥ 1");
        if (OnShortRound is not ("retry" or "fail")) throw new ConfigException($"on_short_round: '{OnShortRound}' is not retry or fail.");
        if (LogFormat is not ("text" or "json")) throw new ConfigException($"log_format: '{LogFormat}' is not text or json.");
        ListenEndpoint();
    }

    /// <summary>The parsed <see cref="Listen"/> address.</summary>
    public System.Net.IPEndPoint ListenEndpoint() =>
        System.Net.IPEndPoint.TryParse(Listen, out var ep) && Listen.Contains(':')
            ? ep
            : throw new ConfigException($"listen: '{Listen}' is not address:port, e.g. 0.0.0.0:50051.");

    private static void Require(bool ok, string key, string what)
    {
        if (!ok) throw new ConfigException($"{key}: must be {what}.");
    }
}
