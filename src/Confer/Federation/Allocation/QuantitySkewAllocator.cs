namespace Confer.Federation.Allocation;

/// <summary>
/// <c>quantity-skew</c>: very different client sizes with IID content. Sizes are <c>minClientSize</c> plus a
/// Dir(α·1_N) share of the rest (largest remainders get the leftover records); a seeded shuffle is then cut into
/// blocks of those sizes.
/// </summary>
internal sealed class QuantitySkewAllocator(double alpha, int minClientSize) : IDataAllocator
{
    public string Name => "quantity-skew";

    public DataAllocation Allocate(IReadOnlyList<string?> categories, int clientCount, int seed)
    {
        AllocationMath.Check(categories, clientCount, Name);
        var floor = Math.Max(1, minClientSize);
        var total = categories.Count;
        var spare = total - (long)floor * clientCount;
        if (spare < 0)
            throw new ArgumentException($"quantity-skew: {clientCount} clients × MinClientSize {floor} exceeds the {total} records; lower MinClientSize.");
        var rng = AllocationMath.Rng(seed);
        var q = DirichletSampler.Sample(rng, alpha, clientCount);
        var raw = q.Select(p => p * spare).ToArray();
        var sizes = raw.Select(r => floor + (int)Math.Floor(r)).ToArray();
        var leftover = total - sizes.Sum();
        foreach (var k in Enumerable.Range(0, clientCount).OrderByDescending(k => raw[k] - Math.Floor(raw[k])).ThenBy(k => k).Take(leftover))
            sizes[k]++;
        var order = Enumerable.Range(0, total).ToArray();
        rng.Shuffle(order);
        return AllocationMath.Finish(Name, seed, AllocationMath.SplitBySizes(order, sizes));
    }
}
