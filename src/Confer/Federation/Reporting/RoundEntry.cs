using Confer.Federation.Rounds;

namespace Confer.Federation.Reporting;

/// <summary>
/// A <c>"kind":"round"</c> line of metrics.jsonl. Round 0 is the starting model's evaluation: no clients, no traffic,
/// no train loss. <see cref="Selected"/>, <see cref="DroppedReasons"/> and <see cref="Metrics"/> are absent from runs
/// written before they existed.
/// </summary>
internal sealed record RoundEntry(
    int Round,
    double? GlobalLoss,
    double? GlobalPerplexity,
    double? TrainLoss,
    IReadOnlyList<string>? Clients,
    IReadOnlyList<string>? Dropped,
    long Examples,
    long BytesUp,
    long BytesDown,
    long ParamsUp,
    long ParamsDown,
    double Seconds,
    IReadOnlyList<string>? Selected = null,
    IReadOnlyDictionary<string, string>? DroppedReasons = null,
    IReadOnlyDictionary<string, double>? Metrics = null,
    long? RawBytesUp = null,
    long? RawBytesDown = null)
{
    /// <summary>The engine's record of this round, with its traffic and client evaluations.</summary>
    public RoundRecord ToRecord(IEnumerable<TrafficEntry> traffic, IEnumerable<ClientEvalEntry> evaluations)
    {
        var metrics = new Dictionary<string, double>(Metrics ?? new Dictionary<string, double>(), StringComparer.Ordinal);
        if (GlobalLoss is { } g) metrics[MetricNames.GlobalLoss] = g;
        if (GlobalPerplexity is { } p) metrics[MetricNames.GlobalPerplexity] = p;
        if (TrainLoss is { } t) metrics[MetricNames.TrainLoss] = t;
        var aggregated = Clients ?? [];
        var dropped = (Dropped ?? []).Select(id => new DroppedClient(id, DroppedReasons?.GetValueOrDefault(id) ?? "")).ToList();
        return new RoundRecord(Round, Selected ?? [.. aggregated.Concat(dropped.Select(d => d.ClientId)).Distinct().Order(StringComparer.Ordinal)],
            aggregated, dropped, Examples, metrics,
            [.. traffic.Select(e => e.ToTraffic())],
            [.. evaluations.Where(e => e.LocalLoss is not null).Select(e => new ClientEvaluation(e.Client, e.LocalLoss!.Value, e.LocalExamples))],
            Seconds);
    }

    /// <summary>The report's view of a record (the inverse of <see cref="ToRecord"/>).</summary>
    public static RoundEntry From(RoundRecord r) => new(
        r.Round, r.GlobalLoss, r.GlobalPerplexity, r.TrainLoss, r.Aggregated, [.. r.Dropped.Select(d => d.ClientId)], r.Examples,
        r.Up.Bytes, r.Down.Bytes, r.Up.Parameters, r.Down.Parameters, r.Seconds, r.Selected,
        r.Dropped.ToDictionary(d => d.ClientId, d => d.Reason, StringComparer.Ordinal), r.Metrics, r.Up.RawBytes, r.Down.RawBytes);

    /// <summary>fp32 bytes before the codecs (runs from before codecs existed sent them raw).</summary>
    public long RawUp => RawBytesUp ?? BytesUp;

    public long RawDown => RawBytesDown ?? BytesDown;
}
