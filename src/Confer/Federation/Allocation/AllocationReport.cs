using System.Text.Json;

namespace Confer.Federation.Allocation;

/// <summary>What an allocation gave each client, serialisable to JSON for the run folder.</summary>
public sealed record AllocationReport(string Method, int Seed, int TotalRecords, IReadOnlyList<ClientShare> Clients)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static AllocationReport Create(DataAllocation allocation, IReadOnlyList<string?> categories)
    {
        var clients = allocation.Clients.Select((indices, k) => new ClientShare(
            k,
            indices.Count,
            new SortedDictionary<string, int>(
                indices.GroupBy(i => AllocationMath.Label(categories[i]), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
                StringComparer.Ordinal)))
            .ToList();
        return new AllocationReport(allocation.Method, allocation.Seed, allocation.Clients.Sum(c => c.Count), clients);
    }

    /// <summary>
    /// This report with <see cref="ClientShare.CappedFrom"/> set on every client that had more records available
    /// (<paramref name="available"/>, in client order) than it kept, so a size cap never flattens a split unseen.
    /// </summary>
    public AllocationReport WithAvailable(IReadOnlyList<int> available) => this with
    {
        Clients = Clients.Select((c, k) => available[k] > c.Size ? c with { CappedFrom = available[k] } : c).ToList(),
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
