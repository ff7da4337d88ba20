using Confer.Federation;

namespace Confer.Robustness.Aggregators;

/// <summary>Robust aggregation rules by the name used in <c>robust_aggregator</c>; code outside Confer adds its own with <see cref="Register"/>.</summary>
public static class RobustAggregatorRegistry
{
    /// <summary>The value that means "no robust rule": the strategy's own weighted mean.</summary>
    public const string None = "none";

    private static readonly Registry<Func<RobustOptions, IRobustAggregator>> Factories = new("robust aggregator", new Dictionary<string, Func<RobustOptions, IRobustAggregator>>
    {
        [CoordinateMedian.RegistryName] = _ => new CoordinateMedian(),
        [TrimmedMean.RegistryName] = o => new TrimmedMean(o.TrimRatio),
        [Krum.RegistryName] = o => new Krum(o.ByzantineClients, keep: 1),
        [Krum.MultiRegistryName] = o => new Krum(o.ByzantineClients, keep: o.KrumKeep),
        [NormBounding.RegistryName] = o => new NormBounding(o.NormBound),
    });

    public static IReadOnlyCollection<string> Names => Factories.Names;

    public static void Register(string name, Func<RobustOptions, IRobustAggregator> factory) => Factories.Register(name, factory);

    /// <summary>The rule called <paramref name="name"/>, or null for <see cref="None"/>.</summary>
    public static IRobustAggregator? Create(string name, RobustOptions options) =>
        string.Equals(name, None, StringComparison.OrdinalIgnoreCase) ? null : Factories.Get(name)(options);
}
