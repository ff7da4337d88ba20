using Confer.Federation.Allocation;

namespace Confer.PublicApi.Tests;

/// <summary>An allocator from outside Confer: record i goes to client i mod n.</summary>
internal sealed class AlternatingAllocator : IDataAllocator
{
    public const string RegistryName = "alternate";

    public string Name => RegistryName;

    public DataAllocation Allocate(IReadOnlyList<string?> categories, int clientCount, int seed) =>
        new(Name, seed, Enumerable.Range(0, clientCount)
            .Select(k => (IReadOnlyList<int>)Enumerable.Range(0, categories.Count).Where(i => i % clientCount == k).ToList()).ToList());
}
