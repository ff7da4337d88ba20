namespace Confer.Federation.Scheduling;

/// <summary>Names of the capabilities in <see cref="ClientProfile.Capabilities"/> that Confer's pools declare and its schedulers read.</summary>
public static class ClientCapabilities
{
    /// <summary>Training throughput, tokens per second.</summary>
    public const string TokensPerSecond = "tokens_per_second";

    /// <summary>Client → server bandwidth, Mbit/s.</summary>
    public const string UplinkMbps = "uplink_mbps";

    /// <summary>Server → client bandwidth, Mbit/s.</summary>
    public const string DownlinkMbps = "downlink_mbps";

    /// <summary>Round-trip time, ms (paid once per transfer).</summary>
    public const string LatencyMs = "latency_ms";

    /// <summary>Probability of dropping out of a round.</summary>
    public const string Dropout = "dropout";
}
