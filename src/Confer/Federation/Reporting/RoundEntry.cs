namespace Confer.Federation.Reporting;

/// <summary>
/// A <c>"kind":"round"</c> line of metrics.jsonl. Round 0 is the starting model's evaluation: no clients, no traffic,
/// no train loss.
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
    double Seconds);
