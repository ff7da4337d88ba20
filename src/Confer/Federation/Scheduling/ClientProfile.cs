namespace Confer.Federation.Scheduling;

/// <summary>
/// A client as a scheduler sees it. <see cref="Capabilities"/> is open-ended (Confer's pools use the names in
/// <see cref="ClientCapabilities"/>; others may add e.g. <c>memory_gib</c>) so that a resource-aware scheduler can be
/// added as a new class without changing this contract. <see cref="History"/> is what the run's committed record says
/// about the client's earlier rounds, so a scheduler that learns from it stays a pure function of its inputs.
/// </summary>
public sealed record ClientProfile(string Id)
{
    public IReadOnlyDictionary<string, double> Capabilities { get; init; } = new Dictionary<string, double>();

    /// <summary>The client's timed earlier rounds, oldest first (empty when nothing timed it).</summary>
    public IReadOnlyList<ClientObservation> History { get; init; } = [];

    /// <summary>The capability <paramref name="name"/> when declared as a positive finite number.</summary>
    public double? Capability(string name) => Capabilities.TryGetValue(name, out var v) && double.IsFinite(v) && v >= 0 ? v : null;
}
