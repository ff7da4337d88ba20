namespace Confer.Federation.Allocation;

/// <summary>
/// Splits a data set among clients. Input is one category per record (null or empty = uncategorised; for
/// <c>natural</c> it is the grouping field, e.g. a user id); output is disjoint per-client record indices that cover
/// every record, reproducible for a given seed.
/// </summary>
public interface IDataAllocator
{
    /// <summary>The registry name, e.g. <c>dirichlet</c>.</summary>
    string Name { get; }

    DataAllocation Allocate(IReadOnlyList<string?> categories, int clientCount, int seed);
}
