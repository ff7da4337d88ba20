using Confer.Data;
using Confer.Federation.Rounds;
using Confer.Federation.Scheduling;

namespace Confer.Federation.Network;

/// <summary>
/// The simulated devices and links of a run: which client drops out of a round, and how long each client's part of a
/// round takes — download (round trip + task bytes / downlink) + compute (trained tokens / (speed · reference
/// throughput)) + upload (round trip + update bytes / uplink) — from the bytes the traffic ledger counts and the
/// tokens the client reports. Every draw (drop-out, jitter) is a pure function of (seed, round, attempt, client), so
/// a resumed run draws what the original run drew.
/// </summary>
/// <param name="devices">Each client's device (a client not listed is refused).</param>
/// <param name="tokensPerSecond">Training throughput of a speed-1 device.</param>
/// <param name="deadlineSeconds">Simulated round deadline; a client whose round takes longer is dropped (null = none).</param>
/// <param name="seed">The run's seed.</param>
public sealed class SimulatedNetwork(IReadOnlyDictionary<string, DeviceProfile> devices, double tokensPerSecond, double? deadlineSeconds, int seed)
{
    /// <summary>The metric a client's update reports its trained tokens under (<see cref="Clients.FederatedClient"/>).</summary>
    public const string TokensMetric = "train_tokens";

    /// <summary>The metric a client reports its measured local training time under.</summary>
    public const string TrainSecondsMetric = "train_seconds";

    public double? DeadlineSeconds { get; } = deadlineSeconds;

    public double TokensPerSecond { get; } = tokensPerSecond > 0 ? tokensPerSecond : throw new ArgumentOutOfRangeException(nameof(tokensPerSecond));

    /// <summary>The device of <paramref name="clientId"/>.</summary>
    public DeviceProfile DeviceOf(string clientId) =>
        devices.TryGetValue(clientId, out var d) ? d : throw new ArgumentException($"Client '{clientId}' has no simulated device.", nameof(clientId));

    /// <summary>What the device declares about itself (nominal, without this round's jitter), for schedulers.</summary>
    public IReadOnlyDictionary<string, double> Capabilities(string clientId)
    {
        var d = DeviceOf(clientId);
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [ClientCapabilities.TokensPerSecond] = d.ComputeSpeed * TokensPerSecond,
            [ClientCapabilities.UplinkMbps] = d.UplinkMbps,
            [ClientCapabilities.DownlinkMbps] = d.DownlinkMbps,
            [ClientCapabilities.LatencyMs] = d.LatencyMs,
            [ClientCapabilities.Dropout] = d.Dropout,
        };
    }

    /// <summary>True when <paramref name="clientId"/>, selected in this attempt of <paramref name="round"/>, never returns.</summary>
    public bool DropsOut(int round, int attempt, string clientId)
    {
        var p = DeviceOf(clientId).Dropout;
        return p > 0 && Uniform(round, attempt, clientId, "dropout") < p;
    }

    /// <summary>
    /// The client's simulated round: <paramref name="bytesDown"/> and <paramref name="bytesUp"/> as they travel (after
    /// codecs), <paramref name="tokens"/> trained. Without jitter this is exactly
    /// (RTT + down·8/downlink) + tokens/(speed·throughput) + (RTT + up·8/uplink).
    /// </summary>
    public ClientTiming Time(int round, int attempt, string clientId, int rank, long bytesDown, long bytesUp, long tokens)
    {
        var d = DeviceOf(clientId);
        var down = DeviceProfile.TransferSeconds(bytesDown, d.DownlinkMbps * Factor(d, round, attempt, clientId, "down"), d.LatencyMs);
        var compute = tokens / (d.ComputeSpeed * TokensPerSecond * Factor(d, round, attempt, clientId, "compute"));
        var up = DeviceProfile.TransferSeconds(bytesUp, d.UplinkMbps * Factor(d, round, attempt, clientId, "up"), d.LatencyMs);
        return new ClientTiming(clientId, rank, bytesDown, bytesUp, tokens, down, compute, up);
    }

    /// <summary>
    /// The round's simulated wall-clock: the slowest client that returned; with a deadline, the deadline itself when a
    /// selected client never came back (dropped out or too slow), because the server waits for it until then.
    /// </summary>
    public double RoundSeconds(IEnumerable<ClientTiming> returned, bool someoneMissing)
    {
        var slowest = returned.Select(t => t.Seconds).DefaultIfEmpty(0).Max();
        return someoneMissing && DeadlineSeconds is { } deadline ? Math.Max(slowest, deadline) : slowest;
    }

    /// <summary>exp(σz − σ²/2) with z ~ N(0, 1): a log-normal factor of mean 1 (1 when σ = 0).</summary>
    private double Factor(DeviceProfile d, int round, int attempt, string clientId, string what)
    {
        if (d.Jitter == 0) return 1;
        var u1 = Uniform(round, attempt, clientId, what + "/1");
        var u2 = Uniform(round, attempt, clientId, what + "/2");
        var z = Math.Sqrt(-2 * Math.Log(1 - u1)) * Math.Cos(2 * Math.PI * u2);
        return Math.Exp(d.Jitter * z - d.Jitter * d.Jitter / 2);
    }

    /// <summary>A uniform draw in [0, 1) from (seed, round, attempt, client, purpose) alone.</summary>
    private double Uniform(int round, int attempt, string clientId, string purpose)
    {
        var rng = new SplitMix64(SeedMix.Mix(seed, round, $"{clientId}\u0001{attempt}\u0001{purpose}"));
        return (rng.NextUInt64() >> 11) * (1.0 / (1UL << 53));
    }
}
