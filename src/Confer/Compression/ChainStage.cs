using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Compression;

/// <summary>Where a built-in stage may stand in a chain: sparsify, then code the values, then compress the bytes.</summary>
internal enum StageRole
{
    Sparsify,
    Values,
    Bytes,
}

/// <summary>
/// A built-in stage of a codec chain that codes each fp32 tensor on its own and passes every other tensor through
/// unchanged, so it composes with the stages around it: after <c>topk</c> the kept values are fp32 and the indices
/// int32, so <c>int8</c> quantises the values and leaves the indices alone. A coded tensor travels as its primary
/// tensor under its own name plus parts named <c>&lt;name&gt;#&lt;part&gt;</c>; the stage's <see cref="Marker"/> part
/// (or, for a stage without parts, the primary's dtype) tells the decoder which tensors it coded.
/// </summary>
/// <remarks>
/// Decoding refuses, by name, a part without its primary, a primary without its marker, a primary of the wrong
/// dtype, and an fp32 tensor the stage did not code (the encoder codes every fp32 tensor, so one can only have been
/// added on the way). Each stage checks its own payload in <see cref="DecodeTensor"/>.
/// </remarks>
internal abstract class ChainStage : ITensorCodec, IChainRole
{
    public const char PartSeparator = '#';

    public abstract string Id { get; }

    public virtual bool Lossless => false;

    public abstract StageRole Role { get; }

    /// <summary>The dtype of an encoded tensor's primary.</summary>
    protected abstract ScalarType PrimaryType { get; }

    /// <summary>The part every coded tensor carries, or null when <see cref="PrimaryType"/> alone marks one.</summary>
    protected abstract string? Marker { get; }

    /// <summary>Parts a coded tensor may carry besides the marker.</summary>
    protected virtual IReadOnlyList<string> OtherParts => [];

    public static string PartName(string name, string part) => $"{name}{PartSeparator}{part}";

    public virtual NamedTensors Encode(NamedTensors tensors, CodecContext context)
    {
        var output = new NamedTensors();
        try
        {
            foreach (var (name, t) in tensors)
            {
                if (t.dtype != ScalarType.Float32)
                {
                    output.Add(name, t.alias());
                    continue;
                }
                using var values = HostTensor.Float32(t);
                EncodeTensor(name, values, context, output);
            }
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Adds the primary and parts of one fp32 tensor (contiguous, on the CPU) to <paramref name="output"/>.</summary>
    protected virtual void EncodeTensor(string name, Tensor values, CodecContext context, NamedTensors output) =>
        throw new NotSupportedException($"{Id} encodes whole messages.");

    /// <summary>The fp32 tensor a primary and its parts encode, allocated within the context's budget.</summary>
    protected abstract Tensor DecodeTensor(string name, Tensor primary, IReadOnlyDictionary<string, Tensor> parts, CodecContext context);

    /// <summary>Checks that concern the whole message (e.g. a sparsifier's total count) before any tensor is decoded.</summary>
    protected virtual void CheckMessage(IReadOnlyList<Coded> coded)
    {
    }

    public NamedTensors Decode(NamedTensors encoded, CodecContext context)
    {
        var coded = Classify(encoded);
        CheckMessage(coded);
        var byName = coded.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var output = new NamedTensors();
        try
        {
            foreach (var (name, t) in encoded)
            {
                if (byName.TryGetValue(name, out var c)) output.Add(name, DecodeTensor(name, c.Primary, c.Parts, context));
                else if (!IsPart(name, out _, out _)) output.Add(name, t.alias());
            }
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>One coded tensor as it arrived: primary and parts (by part name).</summary>
    protected sealed record Coded(string Name, Tensor Primary, IReadOnlyDictionary<string, Tensor> Parts);

    private List<Coded> Classify(NamedTensors encoded)
    {
        var parts = new Dictionary<string, Dictionary<string, Tensor>>(StringComparer.Ordinal);
        foreach (var (name, t) in encoded)
            if (IsPart(name, out var primary, out var part))
            {
                if (!encoded.Contains(primary)) throw new InvalidDataException($"tensor '{name}' is a {Id} part of '{primary}', which is missing");
                if (!parts.TryGetValue(primary, out var set)) parts[primary] = set = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                set[part] = t;
            }
        var coded = new List<Coded>();
        foreach (var (name, t) in encoded)
        {
            if (IsPart(name, out _, out _)) continue;
            var marked = Marker is null ? t.dtype == PrimaryType : parts.TryGetValue(name, out var set) && set.ContainsKey(Marker);
            if (!marked)
            {
                if (parts.ContainsKey(name)) throw new InvalidDataException($"tensor '{name}' has {Id} parts but not its '{Marker}' part");
                if (t.dtype == ScalarType.Float32)
                    throw new InvalidDataException($"tensor '{name}' is fp32, but {Id} codes every fp32 tensor (it was not encoded by this chain)");
                continue;
            }
            if (t.dtype != PrimaryType) throw new InvalidDataException($"tensor '{name}' is {t.dtype}; {Id} sends {PrimaryType}");
            coded.Add(new Coded(name, t, parts.GetValueOrDefault(name) ?? new Dictionary<string, Tensor>(StringComparer.Ordinal)));
        }
        return coded;
    }

    private bool IsPart(string name, out string primary, out string part)
    {
        foreach (var p in OtherParts.Prepend(Marker))
        {
            if (p is null || !name.EndsWith(PartSeparator + p, StringComparison.Ordinal)) continue;
            primary = name[..^(p.Length + 1)];
            part = p;
            return true;
        }
        primary = part = "";
        return false;
    }

    /// <summary>The part <paramref name="part"/> of <paramref name="name"/>, or a refusal naming it.</summary>
    protected static Tensor Part(string name, IReadOnlyDictionary<string, Tensor> parts, string part) =>
        parts.TryGetValue(part, out var t) ? t : throw new InvalidDataException($"tensor '{name}': its '{part}' part is missing");
}
