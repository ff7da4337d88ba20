using Confer.Configuration;
using static TorchSharp.torch;

namespace Confer.Compression;

/// <summary>
/// Tensor codecs by the name used in a chain of <c>uplink_codec</c> / <c>downlink_codec</c>
/// (<c>topk:0.1 &gt; int8 &gt; zstd</c>, see <see cref="CodecChain"/>). A new codec is one class and one registration;
/// a factory receives the stage's colon-separated arguments.
/// </summary>
public static class CodecRegistry
{
    private static readonly Dictionary<string, Func<CodecArguments, ITensorCodec>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        [IdentityCodec.Name] = a =>
        {
            a.AtMost(0);
            return new IdentityCodec();
        },
        ["fp16"] = a => new CastCodec(a.AtMost(0).Spec, ScalarType.Float16),
        ["bf16"] = a => new CastCodec(a.AtMost(0).Spec, ScalarType.BFloat16),
        ["int8"] = a => Quantizer(a, 8),
        ["int4"] = a => Quantizer(a, 4),
        ["int2"] = a => Quantizer(a, 2),
        ["topk"] = a => new TopKCodec(a.AtMost(1).Spec, a.Fraction(0, "the kept fraction")),
        ["sparse-lora"] = a => new SparseLoraCodec(a.AtMost(2).Spec, a.Fraction(0, "the kept density"), a.Flag(1, "ef")),
        ["zstd"] = a => new ZstdCodec(a.AtMost(1).Spec, a.Integer(0, "the level", ZstdCodec.DefaultLevel, 1, 19)),
    };

    public static IReadOnlyCollection<string> Names
    {
        get
        {
            lock (Factories) return [.. Factories.Keys];
        }
    }

    /// <summary>Adds a codec that takes no arguments; a name already taken is refused so that two codecs never answer to one id.</summary>
    public static void Register(string name, Func<ITensorCodec> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Register(name, a =>
        {
            a.AtMost(0);
            return factory();
        });
    }

    /// <summary>Adds a codec whose factory reads its arguments (<c>name:arg:arg</c>); a taken name or one that would break the chain syntax is refused.</summary>
    public static void Register(string name, Func<CodecArguments, ITensorCodec> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (name.Any(c => c is ':' or '>' or '=' or ',' or ChainStage.PartSeparator || char.IsWhiteSpace(c)))
            throw new ArgumentException($"A codec name cannot contain ':', '>', '=', ',', '{ChainStage.PartSeparator}' or spaces: '{name}'.", nameof(name));
        lock (Factories)
            if (!Factories.TryAdd(name, factory)) throw new ArgumentException($"A codec named '{name}' is already registered.", nameof(name));
    }

    /// <summary>The chain <paramref name="chain"/> describes; a clear error naming <paramref name="key"/> otherwise.</summary>
    public static CodecChain Create(string chain, string key) => CodecChain.Parse(chain, key);

    /// <summary>One stage: <paramref name="spec"/> is <c>name[:arg[:arg…]]</c>.</summary>
    internal static ITensorCodec Stage(string spec, string key)
    {
        var fields = spec.Split(':', StringSplitOptions.TrimEntries);
        Func<CodecArguments, ITensorCodec>? factory;
        lock (Factories) Factories.TryGetValue(fields[0], out factory);
        if (factory is null)
            throw new ConfigException($"{key}: unknown codec '{fields[0]}' (known: {string.Join(", ", Names.Order())}; chain them with '>', e.g. 'topk:0.1 > int8 > zstd').");
        if (fields.Skip(1).Any(f => f.Length == 0)) throw new ConfigException($"{key}: codec stage '{spec}' has an empty argument.");
        return factory(new CodecArguments(key, fields[0].ToLowerInvariant(), fields[1..]));
    }

    private static QuantizeCodec Quantizer(CodecArguments a, int bits) =>
        new(a.AtMost(1).Spec, bits, a.Integer(0, "the chunk size", QuantizeCodec.DefaultChunk, 8, 1 << 20));
}
