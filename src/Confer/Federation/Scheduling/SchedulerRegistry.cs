namespace Confer.Federation.Scheduling;

/// <summary>Client schedulers by configuration name. Adding one (e.g. resource-aware) is a new class and one line here.</summary>
public static class SchedulerRegistry
{
    private static readonly Dictionary<string, Func<SchedulingOptions, IClientScheduler>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["uniform"] = o => new UniformScheduler(o),
        ["all"] = _ => new AllClientsScheduler(),
        ["round-robin"] = o => new RoundRobinScheduler(o),
    };

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    public static IClientScheduler Create(string name, SchedulingOptions? options = null) =>
        Factories.TryGetValue(name, out var create)
            ? create(options ?? new SchedulingOptions())
            : throw new ArgumentException($"Unknown scheduler '{name}'. Known schedulers: {string.Join(", ", Factories.Keys)}.", nameof(name));
}
