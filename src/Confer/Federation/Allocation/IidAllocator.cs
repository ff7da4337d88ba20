namespace Confer.Federation.Allocation;

/// <summary><c>iid</c>: a seeded shuffle cut into near-equal blocks (sizes differ by at most one).</summary>
internal sealed class IidAllocator : IDataAllocator
{
    public string Name => "iid";

    public DataAllocation Allocate(IReadOnlyList<string?> categories, int clientCount, int seed)
    {
        AllocationMath.Check(categories, clientCount, Name);
        var order = Enumerable.Range(0, categories.Count).ToArray();
        AllocationMath.Rng(seed).Shuffle(order);
        return AllocationMath.Finish(Name, seed, AllocationMath.SplitBySizes(order, AllocationMath.EvenSizes(order.Length, clientCount)));
    }
}
