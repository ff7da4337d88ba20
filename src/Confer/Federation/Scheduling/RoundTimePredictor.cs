namespace Confer.Federation.Scheduling;

/// <summary>
/// Predicts a client's round — download + compute + upload, in seconds — from what its device declares
/// (<see cref="ClientProfile.Capabilities"/>) and what the run has measured (<see cref="ClientProfile.History"/>):
/// <list type="bullet">
/// <item>Work: the tokens and bytes of the client's latest round; for a client never timed, the mean over the other
/// clients' latest rounds (everyone gets the same global adapter and trains the same number of steps).</item>
/// <item>Compute rate: seconds per token measured over the client's last <see cref="MeasuredRounds"/> rounds, which
/// catches a device slower or faster than it declares; else 1 / declared tokens per second.</item>
/// <item>Links: round trip + bytes · 8 / declared bandwidth; without a declaration, the client's latest transfer time
/// scaled to the bytes.</item>
/// <item>Rank: a LoRA update's bytes are proportional to its rank, so the upload at rank r is the measured bytes per
/// rank unit times r. Compute is taken as independent of the rank (adapters are a small part of the FLOPs).</item>
/// </list>
/// Null when something needed is unknown (no declaration and no history): the scheduler then cannot rule the client out.
/// </summary>
public sealed class RoundTimePredictor
{
    /// <summary>How many of a client's latest rounds its measured compute rate averages over.</summary>
    public const int MeasuredRounds = 3;

    private readonly double? _tokens;
    private readonly double? _bytesDown;
    private readonly double? _bytesUp;
    private readonly double? _bytesUpPerRank;

    /// <param name="population">All clients considered this round; their latest observations give the work of a client never timed.</param>
    public RoundTimePredictor(IReadOnlyList<ClientProfile> population)
    {
        var latest = population.Select(c => c.History.LastOrDefault()).OfType<ClientObservation>().ToList();
        _tokens = latest.Count > 0 ? latest.Average(o => (double)o.Tokens) : null;
        _bytesDown = latest.Count > 0 ? latest.Average(o => (double)o.BytesDown) : null;
        _bytesUp = latest.Count > 0 ? latest.Average(o => (double)o.BytesUp) : null;
        var ranked = latest.Where(o => o.Rank > 0).ToList();
        _bytesUpPerRank = ranked.Count > 0 ? ranked.Average(o => (double)o.BytesUp / o.Rank) : null;
    }

    /// <summary>Predicted seconds for <paramref name="client"/>'s next round at <paramref name="rank"/> (null = the rank of its latest round).</summary>
    public double? Seconds(ClientProfile client, int? rank = null)
    {
        var last = client.History.LastOrDefault();
        double? tokens = last?.Tokens ?? _tokens;
        double? bytesDown = last?.BytesDown ?? _bytesDown;
        double? upPerRank = last is { Rank: > 0 } ? (double)last.BytesUp / last.Rank : _bytesUpPerRank;
        double? bytesUp = rank is { } r ? upPerRank * r : last?.BytesUp ?? _bytesUp;
        if (tokens is null || bytesDown is null || bytesUp is null) return null;

        var compute = SecondsPerToken(client) * tokens;
        var down = Transfer(client, bytesDown.Value, ClientCapabilities.DownlinkMbps, last is null ? null : (last.DownloadSeconds, last.BytesDown));
        var up = Transfer(client, bytesUp.Value, ClientCapabilities.UplinkMbps, last is null ? null : (last.UploadSeconds, last.BytesUp));
        return compute + down + up;
    }

    /// <summary>The largest of <paramref name="choices"/> predicted to finish within <paramref name="deadline"/>; the smallest when none does or the time is unknown.</summary>
    public int LargestRankWithin(ClientProfile client, IReadOnlyList<int> choices, double deadline)
    {
        var ascending = choices.Order().ToList();
        var fitting = ascending.Where(r => Seconds(client, r) is { } s && s <= deadline).ToList();
        return fitting.Count > 0 ? fitting[^1] : ascending[0];
    }

    private static double? SecondsPerToken(ClientProfile client)
    {
        var measured = client.History.Where(o => o.Tokens > 0).TakeLast(MeasuredRounds).ToList();
        if (measured.Count > 0) return measured.Sum(o => o.ComputeSeconds) / measured.Sum(o => (double)o.Tokens);
        return client.Capability(ClientCapabilities.TokensPerSecond) is > 0 and var tps ? 1 / tps : null;
    }

    private static double? Transfer(ClientProfile client, double bytes, string bandwidth, (double Seconds, long Bytes)? measured)
    {
        var latency = (client.Capability(ClientCapabilities.LatencyMs) ?? 0) / 1000.0;
        if (client.Capability(bandwidth) is > 0 and var mbps) return latency + bytes * 8 / (mbps * 1e6);
        if (measured is { Bytes: > 0 } m) return m.Seconds * bytes / m.Bytes;
        return measured is { } zero ? zero.Seconds : null;
    }
}
