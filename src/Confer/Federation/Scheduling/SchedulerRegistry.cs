namespace Confer.Federation.Scheduling;

/// <summary>
/// Client schedulers by configuration name (the <c>scheduler</c> key). Confer's own are registered here; code outside
/// Confer adds its own <see cref="IClientScheduler"/> (e.g. resource-aware) with <see cref="Register"/>.
/// </summary>
public static class SchedulerRegistry
{
    private static readonly Registry<Func<SchedulingOptions, IClientScheduler>> Factories = new("scheduler", new Dictionary<string, Func<SchedulingOptions, IClientScheduler>>
    {
        ["uniform"] = o => new UniformScheduler(o),
        ["all"] = _ => new AllClientsScheduler(),
        ["round-robin"] = o => new RoundRobinScheduler(o),
        ["deadline"] = o => new DeadlineScheduler(o),
    });

    /// <summary>Every registered name, Confer's first, then registration order.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Names;

    /// <summary>
    /// Makes <paramref name="name"/> (case-insensitive) choose schedulers made by <paramref name="factory"/> from the
    /// run's <see cref="SchedulingOptions"/>. Throws <see cref="ArgumentException"/> for a blank or taken name.
    /// </summary>
    public static void Register(string name, Func<SchedulingOptions, IClientScheduler> factory) => Factories.Register(name, factory);

    public static IClientScheduler Create(string name, SchedulingOptions? options = null) => Factories.Get(name)(options ?? new SchedulingOptions());
}
