using System.Globalization;
using Confer.Configuration;

namespace Confer.Federation.Network;

/// <summary>
/// A simulated client device and its network link (one entry of <c>client_devices</c>).
/// </summary>
/// <param name="Name">How the configuration named it (a profile, possibly with overrides).</param>
/// <param name="ComputeSpeed">Training throughput relative to a speed-1 device (<c>device_tokens_per_second</c>, by default this machine).</param>
/// <param name="UplinkMbps">Client → server bandwidth, Mbit/s (10^6 bits per second).</param>
/// <param name="DownlinkMbps">Server → client bandwidth, Mbit/s.</param>
/// <param name="LatencyMs">Round-trip time, ms; every transfer (the task down, the update up) pays it once.</param>
/// <param name="Dropout">Probability that the client, once selected, never returns in a round (drawn per round, seeded).</param>
/// <param name="Jitter">σ of a per-round log-normal factor (mean 1) on its compute speed and each bandwidth; 0 = steady.</param>
public sealed record DeviceProfile(string Name, double ComputeSpeed, double UplinkMbps, double DownlinkMbps, double LatencyMs, double Dropout, double Jitter)
{
    private static readonly string[] Fields = ["speed", "up_mbps", "down_mbps", "latency_ms", "dropout", "jitter"];

    /// <summary>
    /// Reads an entry of <c>client_devices</c>: an optional profile name (<see cref="DeviceProfiles"/>; <c>lan</c>
    /// when omitted) followed by <c>key=value</c> overrides separated by spaces, e.g. <c>phone-4g dropout=0.3</c> or
    /// <c>speed=0.25 up_mbps=5 down_mbps=40 latency_ms=50</c>.
    /// </summary>
    /// <exception cref="ConfigException">An unknown profile or field, a value that is not a number, or a value out of range.</exception>
    public static DeviceProfile Parse(string spec)
    {
        var parts = spec.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new ConfigException("client_devices: an entry is empty; give a profile name or key=value fields.");
        var profile = DeviceProfiles.Lan;
        var rest = parts.AsEnumerable();
        if (!parts[0].Contains('='))
        {
            profile = DeviceProfiles.Find(parts[0])
                      ?? throw new ConfigException($"client_devices: '{spec}': unknown profile '{parts[0]}' (known: {string.Join(", ", DeviceProfiles.All.Select(p => p.Name))}).");
            rest = parts.Skip(1);
        }
        foreach (var field in rest)
        {
            var eq = field.IndexOf('=');
            var key = eq > 0 ? field[..eq] : field;
            if (eq <= 0 || !Fields.Contains(key))
                throw new ConfigException($"client_devices: '{spec}': '{field}' is not key=value with a key among {string.Join(", ", Fields)}.");
            if (!double.TryParse(field[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
                throw new ConfigException($"client_devices: '{spec}': {key} is '{field[(eq + 1)..]}', not a number.");
            profile = key switch
            {
                "speed" => profile with { ComputeSpeed = v },
                "up_mbps" => profile with { UplinkMbps = v },
                "down_mbps" => profile with { DownlinkMbps = v },
                "latency_ms" => profile with { LatencyMs = v },
                "dropout" => profile with { Dropout = v },
                _ => profile with { Jitter = v },
            };
        }
        profile = profile with { Name = string.Join(' ', parts) };
        profile.Check(spec);
        return profile;
    }

    private void Check(string spec)
    {
        string? problem = ComputeSpeed <= 0 ? "speed must be > 0"
            : UplinkMbps <= 0 || DownlinkMbps <= 0 ? "up_mbps and down_mbps must be > 0"
            : LatencyMs < 0 ? "latency_ms must be ≥ 0"
            : Dropout is < 0 or >= 1 ? "dropout must be in [0, 1)"
            : Jitter < 0 ? "jitter must be ≥ 0"
            : null;
        if (problem is not null) throw new ConfigException($"client_devices: '{spec}': {problem}.");
    }

    /// <summary>Seconds to move <paramref name="bytes"/> over a link of <paramref name="mbps"/>: one round trip plus bytes·8 / bandwidth.</summary>
    public static double TransferSeconds(long bytes, double mbps, double latencyMs) => latencyMs / 1000.0 + bytes * 8.0 / (mbps * 1e6);
}
