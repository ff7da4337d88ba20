namespace Confer.Compression;

/// <summary>Tensor codecs by the name used in <c>uplink_codec</c> / <c>downlink_codec</c>. A new codec is one class and one registration.</summary>
public static class CodecRegistry
{
    private static readonly Dictionary<string, Func<ITensorCodec>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        [IdentityCodec.Name] = () => new IdentityCodec(),
    };

    public static IReadOnlyCollection<string> Names
    {
        get
        {
            lock (Factories) return [.. Factories.Keys];
        }
    }

    /// <summary>Adds a codec; a name already taken is refused so that two codecs never answer to one id.</summary>
    public static void Register(string name, Func<ITensorCodec> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        lock (Factories)
            if (!Factories.TryAdd(name, factory)) throw new ArgumentException($"A codec named '{name}' is already registered.", nameof(name));
    }

    /// <summary>The codec called <paramref name="name"/>; a clear error naming <paramref name="key"/> and the known codecs otherwise.</summary>
    public static ITensorCodec Create(string name, string key)
    {
        Func<ITensorCodec>? factory;
        lock (Factories) Factories.TryGetValue(name.Trim(), out factory);
        return factory?.Invoke() ?? throw new Configuration.ConfigException($"{key}: unknown codec '{name}' (known: {string.Join(", ", Names.Order())}).");
    }
}
