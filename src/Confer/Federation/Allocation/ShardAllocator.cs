namespace Confer.Federation.Allocation;

/// <summary>
/// <c>shards</c> — Shepherd's <c>diff_quantity=0</c> (pathological non-IID, McMahan et al.): sort records by category,
/// cut them into <c>shardsPerClient</c>·N contiguous shards of near-equal size, deal the shards out at random. Every
/// client gets a similar amount of data from only a few categories.
/// </summary>
internal sealed class ShardAllocator(int shardsPerClient) : IDataAllocator
{
    public string Name => "shards";

    public DataAllocation Allocate(IReadOnlyList<string?> categories, int clientCount, int seed)
    {
        if (shardsPerClient < 1) throw new ArgumentException($"shards: ShardsPerClient must be ≥ 1 (got {shardsPerClient}).");
        AllocationMath.Check(categories, clientCount * shardsPerClient, Name);
        var sorted = AllocationMath.ByCategory(categories).SelectMany(g => g.Indices).ToArray();
        var shardCount = clientCount * shardsPerClient;
        var shards = AllocationMath.SplitBySizes(sorted, AllocationMath.EvenSizes(sorted.Length, shardCount));
        var deal = Enumerable.Range(0, shardCount).ToArray();
        AllocationMath.Rng(seed).Shuffle(deal);
        var clients = Enumerable.Range(0, clientCount)
            .Select(k => deal.Skip(k * shardsPerClient).Take(shardsPerClient).SelectMany(s => shards[s]));
        return AllocationMath.Finish(Name, seed, clients);
    }
}
