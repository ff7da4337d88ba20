using Confer.Data;

namespace Confer.Federation.Allocation;

/// <summary>Shared pieces of the allocators: checks, category grouping, shuffles and splits.</summary>
internal static class AllocationMath
{
    /// <summary>The label reports use for a record without a category.</summary>
    public const string NoCategory = "(none)";

    public static string Label(string? category) => string.IsNullOrEmpty(category) ? NoCategory : category;

    public static void Check(IReadOnlyList<string?> categories, int clientCount, string method)
    {
        ArgumentNullException.ThrowIfNull(categories);
        if (clientCount < 1) throw new ArgumentOutOfRangeException(nameof(clientCount), clientCount, "Need at least one client.");
        if (categories.Count < clientCount)
            throw new ArgumentException($"'{method}' cannot give {clientCount} clients a record each from {categories.Count} records; use fewer clients.");
    }

    /// <summary>Record indices per category label, categories in ordinal order, indices ascending.</summary>
    public static IReadOnlyList<(string Category, int[] Indices)> ByCategory(IReadOnlyList<string?> categories) =>
        Enumerable.Range(0, categories.Count)
            .GroupBy(i => Label(categories[i]), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, g.ToArray()))
            .ToList();

    /// <summary>The allocation's random stream: SplitMix64, so a seed means the same split on every .NET version.</summary>
    public static SplitMix64 Rng(int seed) => new(SeedMix.Mix(seed, 0));

    /// <summary>Splits <paramref name="items"/> into consecutive blocks of the given sizes.</summary>
    public static List<int>[] SplitBySizes(int[] items, IReadOnlyList<int> sizes)
    {
        var blocks = new List<int>[sizes.Count];
        var start = 0;
        for (var k = 0; k < sizes.Count; k++)
        {
            blocks[k] = items.Skip(start).Take(sizes[k]).ToList();
            start += sizes[k];
        }
        return blocks;
    }

    /// <summary>Sizes that differ by at most one and sum to <paramref name="total"/> (the first ones get the remainder).</summary>
    public static int[] EvenSizes(int total, int parts) =>
        Enumerable.Range(0, parts).Select(k => total / parts + (k < total % parts ? 1 : 0)).ToArray();

    public static DataAllocation Finish(string method, int seed, IEnumerable<IEnumerable<int>> clients) =>
        new(method, seed, clients.Select(c => (IReadOnlyList<int>)c.Order().ToList()).ToList());
}
