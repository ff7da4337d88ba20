namespace Confer.Federation.Allocation;

/// <summary>
/// <c>natural</c>: the data already says who owns what (a user, hospital or language field). One distinct value per
/// client, values in ordinal order → clients 0..N−1. The seed is not used.
/// </summary>
internal sealed class NaturalAllocator : IDataAllocator
{
    public string Name => "natural";

    public DataAllocation Allocate(IReadOnlyList<string?> categories, int clientCount, int seed)
    {
        AllocationMath.Check(categories, clientCount, Name);
        for (var i = 0; i < categories.Count; i++)
            if (string.IsNullOrEmpty(categories[i]))
                throw new ArgumentException($"natural: record {i} has no value in the grouping field; every record needs one.");
        var groups = AllocationMath.ByCategory(categories);
        if (groups.Count != clientCount)
            throw new ArgumentException($"natural: the grouping field has {groups.Count} distinct values but there are {clientCount} clients; set the client count to {groups.Count}.");
        return AllocationMath.Finish(Name, seed, groups.Select(g => g.Indices));
    }
}
