namespace Confer.Federation.Allocation;

/// <summary>Per-client record indices (each list ascending), plus how they were made.</summary>
public sealed record DataAllocation(string Method, int Seed, IReadOnlyList<IReadOnlyList<int>> Clients)
{
    /// <summary>Sizes and category histograms, for the run record.</summary>
    public AllocationReport Report(IReadOnlyList<string?> categories) => AllocationReport.Create(this, categories);
}
