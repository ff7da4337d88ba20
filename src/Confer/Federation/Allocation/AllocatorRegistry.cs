namespace Confer.Federation.Allocation;

/// <summary>Data allocators by configuration name. Adding one is a new class and one line here.</summary>
public static class AllocatorRegistry
{
    private static readonly Dictionary<string, Func<AllocationOptions, IDataAllocator>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["iid"] = _ => new IidAllocator(),
        ["dirichlet"] = o => new DirichletAllocator(o.Alpha, o.MinClientSize, capAtMeanSize: true),
        ["dirichlet-uncapped"] = o => new DirichletAllocator(o.Alpha, o.MinClientSize, capAtMeanSize: false),
        ["shards"] = o => new ShardAllocator(o.ShardsPerClient),
        ["quantity-skew"] = o => new QuantitySkewAllocator(o.Alpha, o.MinClientSize),
        ["natural"] = _ => new NaturalAllocator(),
    };

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    public static IDataAllocator Create(string name, AllocationOptions? options = null) =>
        Factories.TryGetValue(name, out var create)
            ? create(options ?? new AllocationOptions())
            : throw new ArgumentException($"Unknown allocation '{name}'. Known allocations: {string.Join(", ", Factories.Keys)}.", nameof(name));
}
