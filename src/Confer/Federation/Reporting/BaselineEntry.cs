namespace Confer.Federation.Reporting;

/// <summary>
/// A <c>"kind":"baseline"</c> line. <c>local</c> lines (one per client) describe a model trained on that client's data
/// alone; the <c>centralized</c> line a model trained on all clients' data pooled.
/// </summary>
internal sealed record BaselineEntry(string Name, string? Client, double? GlobalLoss, double? LocalLoss)
{
    public const string Local = "local";
    public const string Centralized = "centralized";
}
