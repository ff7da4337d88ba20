namespace Confer.Federation.Allocation;

/// <summary>Knobs of the allocators; each allocator reads only its own.</summary>
public sealed record AllocationOptions
{
    /// <summary>Dirichlet concentration for <c>dirichlet</c>/<c>dirichlet-uncapped</c> (over clients, per category) and <c>quantity-skew</c> (over client sizes). Shepherd uses 0.5.</summary>
    public double Alpha { get; init; } = 0.5;

    /// <summary>Smallest client for <c>dirichlet</c>/<c>dirichlet-uncapped</c> (redraws until met; Shepherd uses 40) and <c>quantity-skew</c> (guaranteed).</summary>
    public int MinClientSize { get; init; } = 1;

    /// <summary>Shards per client for <c>shards</c> (Shepherd: 2).</summary>
    public int ShardsPerClient { get; init; } = 2;
}
