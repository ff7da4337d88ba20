namespace Confer.Federation;

/// <summary>
/// Factories by configuration name (case-insensitive), in registration order: the one mechanism behind the strategy,
/// allocator and scheduler registries. Registration is open, so code outside Confer can add its own; a blank name,
/// a name with surrounding spaces (a config value could never match it) or a taken name is refused.
/// </summary>
internal sealed class Registry<TFactory> where TFactory : Delegate
{
    private readonly string _kind;
    private readonly Dictionary<string, TFactory> _factories = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="kind">What the names name, for errors (e.g. <c>strategy</c>).</param>
    /// <param name="builtIn">The factories Confer ships.</param>
    public Registry(string kind, IReadOnlyDictionary<string, TFactory> builtIn)
    {
        _kind = kind;
        foreach (var (name, factory) in builtIn) Register(name, factory);
    }

    public IReadOnlyCollection<string> Names
    {
        get
        {
            lock (_factories) return [.. _factories.Keys];
        }
    }

    public void Register(string name, TFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (string.IsNullOrWhiteSpace(name) || name.Trim() != name)
            throw new ArgumentException($"A {_kind} name must be non-blank without surrounding spaces (got '{name}').", nameof(name));
        lock (_factories)
        {
            if (!_factories.TryAdd(name, factory))
                throw new ArgumentException($"A {_kind} named '{name}' is already registered (names ignore case); choose another name.", nameof(name));
        }
    }

    public TFactory Get(string name)
    {
        lock (_factories)
        {
            if (_factories.TryGetValue(name, out var factory)) return factory;
        }
        throw new ArgumentException($"Unknown {_kind} '{name}'. Known: {string.Join(", ", Names)}.", nameof(name));
    }
}
