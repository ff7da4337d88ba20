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

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
