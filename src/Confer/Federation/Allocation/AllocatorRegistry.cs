namespace Confer.Federation.Allocation;

/// <summary>
/// Data allocators by configuration name (the <c>allocation</c> key). Confer's own are registered here; code outside
/// Confer adds its own <see cref="IDataAllocator"/> with <see cref="Register"/>.
/// </summary>
public static class AllocatorRegistry
{
    private static readonly Registry<Func<AllocationOptions, IDataAllocator>> Factories = new("allocation", new Dictionary<string, Func<AllocationOptions, IDataAllocator>>
    {
        ["iid"] = _ => new IidAllocator(),
        ["dirichlet"] = o => new DirichletAllocator(o.Alpha, o.MinClientSize, capAtMeanSize: true),
        ["dirichlet-uncapped"] = o => new DirichletAllocator(o.Alpha, o.MinClientSize, capAtMeanSize: false),
        ["shards"] = o => new ShardAllocator(o.ShardsPerClient),
        ["quantity-skew"] = o => new QuantitySkewAllocator(o.Alpha, o.MinClientSize),
        ["natural"] = _ => new NaturalAllocator(),
    });

    /// <summary>Every registered name, Confer's first, then registration order.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Names;

    /// <summary>
    /// Makes <paramref name="name"/> (case-insensitive) choose allocators made by <paramref name="factory"/> from the
    /// run's <see cref="AllocationOptions"/>. Throws <see cref="ArgumentException"/> for a blank or taken name.
    /// </summary>
    public static void Register(string name, Func<AllocationOptions, IDataAllocator> factory) => Factories.Register(name, factory);

    public static IDataAllocator Create(string name, AllocationOptions? options = null) => Factories.Get(name)(options ?? new AllocationOptions());
}
