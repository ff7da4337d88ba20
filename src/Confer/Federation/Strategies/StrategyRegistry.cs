namespace Confer.Federation.Strategies;

/// <summary>Strategies by configuration name. Adding one is a new class and one line here.</summary>
public static class StrategyRegistry
{
    private static readonly Dictionary<string, Func<Strategy>> Factories = new(StringComparer.OrdinalIgnoreCase)
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
    };

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>A new, uninitialised strategy; call <see cref="Strategy.Initialize"/> next.</summary>
    public static Strategy Create(string name) =>
        Factories.TryGetValue(name, out var create)
            ? create()
            : throw new ArgumentException($"Unknown strategy '{name}'. Known strategies: {string.Join(", ", Factories.Keys)}.", nameof(name));
}
