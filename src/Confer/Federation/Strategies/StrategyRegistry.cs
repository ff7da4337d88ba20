namespace Confer.Federation.Strategies;

/// <summary>
/// Strategies by configuration name (the <c>strategy</c> key). Confer's own are registered here; code outside Confer
/// adds its own <see cref="Strategy"/> subclass with <see cref="Register"/> before the run reads its settings.
/// </summary>
public static class StrategyRegistry
{
    private static readonly Registry<Func<Strategy>> Factories = new("strategy", new Dictionary<string, Func<Strategy>>
    {
        ["fedavg"] = () => new FedAvgStrategy(),
        ["fedprox"] = () => new FedProxStrategy(),
        ["fedavgm"] = () => new FedAvgMStrategy(),
        ["fedadagrad"] = () => new FedAdagradStrategy(),
        ["fedadam"] = () => new FedAdamStrategy(),
        ["fedyogi"] = () => new FedYogiStrategy(),
        ["flora"] = () => new FloraStrategy(),
        ["ffa-lora"] = () => new FfaLoraStrategy(),
        ["flexlora"] = () => new FlexLoraStrategy(),
        ["hetlora"] = () => new HetLoraStrategy(),
    });

    /// <summary>Every registered name, Confer's first, then registration order.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Names;

    /// <summary>
    /// Makes <paramref name="name"/> (case-insensitive) choose strategies made by <paramref name="factory"/>, which
    /// must return a new, uninitialised instance each call. Throws <see cref="ArgumentException"/> for a blank or taken name.
    /// </summary>
    public static void Register(string name, Func<Strategy> factory) => Factories.Register(name, factory);

    /// <summary>A new, uninitialised strategy; call <see cref="Strategy.Initialize"/> next.</summary>
    public static Strategy Create(string name) => Factories.Get(name)();
}
