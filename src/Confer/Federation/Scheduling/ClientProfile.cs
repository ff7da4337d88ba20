namespace Confer.Federation.Scheduling;

/// <summary>
/// A client as a scheduler sees it. <see cref="Capabilities"/> is open-ended (e.g. <c>examples_per_second</c>,
/// <c>memory_gib</c>, <c>uplink_mbps</c>) so that a resource-aware scheduler can be added as a new class without
/// changing this contract.
/// </summary>
public sealed record ClientProfile(string Id)
{
    public IReadOnlyDictionary<string, double> Capabilities { get; init; } = new Dictionary<string, double>();
}
