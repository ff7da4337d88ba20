using Confer.Configuration;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Compression;

/// <summary>
/// The codecs one direction of a run applies, in order: <c>topk:0.1 &gt; int8 &gt; zstd</c> sparsifies, quantises the
/// kept values, then compresses every byte; decoding runs the stages in reverse. Built-in stages go in the order
/// [<c>topk</c> | <c>sparse-lora</c>] &gt; [<c>fp16</c> | <c>bf16</c> | <c>int8</c> | <c>int4</c> | <c>int2</c>] &gt; [<c>zstd</c>],
/// each at most once; <c>identity</c> (fp32 as trained) stands alone. The chain's <see cref="Id"/> (its stages joined
/// by <c>&gt;</c>) travels in every task and update header, so a receiver refuses a message coded otherwise.
/// After decoding, every tensor must be fp32 under a plain name: nothing a stage sent may be left over.
/// </summary>
public sealed class CodecChain : ITensorCodec
{
    private CodecChain(IReadOnlyList<ITensorCodec> stages)
    {
        Stages = stages;
    }

    public IReadOnlyList<ITensorCodec> Stages { get; }

    public string Id => Stages.Count == 0 ? IdentityCodec.Name : string.Join('>', Stages.Select(s => s.Id));

    public bool Lossless => Stages.All(s => s.Lossless);

    /// <summary>True when encoding keeps per-client state between rounds (error feedback).</summary>
    public bool KeepsClientState => Stages.OfType<SparseCodec>().Any(s => s.Feedback);

    /// <summary>Parses <paramref name="text"/>; errors name <paramref name="key"/>, the stage and the fix.</summary>
    public static CodecChain Parse(string text, string key)
    {
        var specs = text.Split('>', StringSplitOptions.TrimEntries);
        if (specs.Any(s => s.Length == 0)) throw new ConfigException($"{key}: '{text}' has an empty stage; write stages as 'a > b > c', e.g. 'topk:0.1 > int8 > zstd'.");
        var stages = specs.Select(s => CodecRegistry.Stage(s, key)).ToList();
        if (stages.Count > 1 && stages.OfType<IdentityCodec>().Any())
            throw new ConfigException($"{key}: '{text}': identity (fp32 as trained) stands alone; leave it out of a chain.");
        for (var i = 1; i < stages.Count; i++)
            if (stages[i - 1] is IChainRole before && stages[i] is IChainRole after && before.Role >= after.Role)
                throw new ConfigException($"{key}: '{text}': {stages[i].Id} cannot follow {stages[i - 1].Id}; a chain is " +
                                          "[topk | sparse-lora] > [fp16 | bf16 | int8 | int4 | int2] > [zstd], each part optional.");
        return new CodecChain([.. stages.Where(s => s is not IdentityCodec)]);
    }

    public NamedTensors Encode(NamedTensors tensors, CodecContext context)
    {
        if (Stages.Count == 0) return tensors;
        foreach (var name in tensors.Names)
            if (name.Contains(ChainStage.PartSeparator, StringComparison.Ordinal))
                throw new ArgumentException($"tensor '{name}': a name with '{ChainStage.PartSeparator}' cannot be coded (the character marks the parts of a coded tensor).");
        return Run(tensors, Stages, (stage, t) => stage.Encode(t, context));
    }

    public NamedTensors Decode(NamedTensors encoded, CodecContext context)
    {
        if (Stages.Count == 0) return encoded;
        var decoded = Run(encoded, Stages.Reverse(), (stage, t) => stage.Decode(t, context));
        foreach (var (name, t) in decoded)
            if (t.dtype != ScalarType.Float32 || name.Contains(ChainStage.PartSeparator, StringComparison.Ordinal))
            {
                var message = $"tensor '{name}' ({t.dtype}) is left after decoding; {Id} sends no such tensor";
                decoded.Dispose();
                throw new InvalidDataException(message);
            }
        return decoded;
    }

    /// <summary>Applies the stages in turn, freeing each intermediate message (never the input).</summary>
    private static NamedTensors Run(NamedTensors input, IEnumerable<ITensorCodec> stages, Func<ITensorCodec, NamedTensors, NamedTensors> apply)
    {
        var current = input;
        foreach (var stage in stages)
        {
            NamedTensors next;
            try
            {
                next = apply(stage, current);
            }
            catch
            {
                if (!ReferenceEquals(current, input)) current.Dispose();
                throw;
            }
            if (!ReferenceEquals(current, input) && !ReferenceEquals(next, current)) current.Dispose();
            current = next;
        }
        return current;
    }
}

/// <summary>Where a built-in stage stands in a chain (<see cref="StageRole"/>); a registered codec without it goes anywhere.</summary>
internal interface IChainRole
{
    StageRole Role { get; }
}
