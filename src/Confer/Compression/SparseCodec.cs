using System.Buffers;
using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Compression;

/// <summary>
/// Sends the largest-magnitude entries of each fp32 tensor and drops the rest (algorithms.md §6.3/§6.4). A tensor
/// travels as its kept values (fp32, ascending position, the primary), <c>#…shape</c> (int64), and the positions as
/// whichever is smaller: a bitmap <c>#…mask</c> (uint8, bit i%8 of byte i/8, ⌈n/8⌉ bytes) or gaps <c>#…idx</c> (int32:
/// the first position, then the distance to the previous one, 4k bytes — small numbers that zstd packs well).
/// <para>
/// With error feedback (Stich et al., arXiv 1809.07599), a client adds the residual e of its previous update to this
/// one, p = Δ + e, sends c = TopK(p) and keeps e ← p − c, so Σ sent + e = Σ Δ: nothing is lost, only delayed. The
/// residual is kept per client in the context's <see cref="CodecContext.State"/> (a file per client and round, see
/// <see cref="Federation.Clients.FolderClientStateStore"/>), only for tensors sent as a change from the task's
/// (<see cref="CodecContext.Changes"/>), and only on the uplink; a residual whose shape no longer fits is dropped.
/// </para>
/// <para>
/// Decoding refuses a count of kept values other than the one the fraction fixes, positions out of range, repeated
/// or out of order (a zero gap), a bitmap whose population differs from the count or with bits past the end.
/// </para>
/// </summary>
internal abstract class SparseCodec : ChainStage
{
    private readonly string _shapePart;
    private readonly string _maskPart;
    private readonly string _indexPart;

    protected SparseCodec(string id, string prefix, double fraction, bool feedback)
    {
        Id = id;
        Fraction = fraction;
        Feedback = feedback;
        _shapePart = prefix + ".shape";
        _maskPart = prefix + ".mask";
        _indexPart = prefix + ".idx";
    }

    public override string Id { get; }

    public override StageRole Role => StageRole.Sparsify;

    /// <summary>Share of entries kept.</summary>
    public double Fraction { get; }

    /// <summary>True when the uplink carries each client's dropped mass into its next update.</summary>
    public bool Feedback { get; }

    protected override ScalarType PrimaryType => ScalarType.Float32;

    protected override string? Marker => _shapePart;

    protected override IReadOnlyList<string> OtherParts => [_maskPart, _indexPart];

    /// <summary>The folder-safe name of this stage's residuals in the client state store.</summary>
    private string Slot => "ef-" + new string([.. Id.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' ? c : '-')]);

    /// <summary>Groups of tensor positions (in message order) that share one selection: each tensor alone, or all together.</summary>
    protected abstract IEnumerable<int[]> Groups(int count);

    public override NamedTensors Encode(NamedTensors tensors, CodecContext context)
    {
        var dense = tensors.Where(kv => kv.Value.dtype == ScalarType.Float32).Select(kv => kv.Key).ToList();
        var feedback = Feedback && context is { Direction: CodecDirection.Uplink, State: not null }
            ? dense.Where(context.Changes.Contains).ToHashSet(StringComparer.Ordinal)
            : [];
        var work = new NamedTensors();
        var output = new NamedTensors();
        try
        {
            using (var residual = feedback.Count > 0 ? context.State!.Read(context.ClientId, Slot, context.Round) : null)
                foreach (var name in dense) work.Add(name, Working(name, tensors[name], feedback.Contains(name), residual));
            var selections = new TopKSelector.Selection[dense.Count];
            var ties = new long[dense.Count];
            foreach (var group in Groups(dense.Count))
            {
                var k = TopKSelector.Keep(group.Sum(j => work[dense[j]].numel()), Fraction);
                if (group is [var only])
                {
                    // One tensor: the span is taken once, and all ties at the threshold are its own.
                    selections[only] = TopKSelector.Select(HostTensor.Span<float>(work[dense[only]], dense[only]), k);
                    ties[only] = selections[only].Ties;
                    continue;
                }
                var selection = TopKSelector.Select(p => HostTensor.Span<float>(work[dense[group[p]]], dense[group[p]]), group.Length, k);
                long left = selection.Ties;
                foreach (var j in group)
                {
                    selections[j] = selection;
                    ties[j] = left;
                    TopKSelector.Count(HostTensor.Span<float>(work[dense[j]], dense[j]), selection, ref left);
                }
            }
            var at = 0;
            foreach (var (name, t) in tensors)
            {
                if (t.dtype != ScalarType.Float32)
                {
                    output.Add(name, t.alias());
                    continue;
                }
                var j = at++;
                EncodeSparse(name, work[name], selections[j], ties[j], zeroSent: feedback.Contains(name), output);
            }
            if (feedback.Count > 0)
            {
                using var kept = new NamedTensors();
                foreach (var name in dense.Where(feedback.Contains)) kept.Add(name, work[name].alias());
                context.State!.Write(context.ClientId, Slot, context.Round, kept);
            }
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            work.Dispose();
        }
    }

    /// <summary>
    /// p = x + e as a contiguous fp32 copy when feedback applies (it becomes the new residual, whose sent entries are
    /// then zeroed), else x itself. A copy even without a residual yet (a client's first round): zeroing an alias
    /// would change the caller's tensors.
    /// </summary>
    private static Tensor Working(string name, Tensor x, bool feedback, NamedTensors? residual)
    {
        if (!feedback) return HostTensor.Float32(x);
        Tensor p;
        using (var source = HostTensor.Float32(x)) p = source.clone();
        if (residual is not null && residual.TryGet(name, out var e) && e.dtype == ScalarType.Float32 && e.shape.SequenceEqual(p.shape))
            TensorPrimitives.Add(HostTensor.Span<float>(p, name), HostTensor.Span<float>(e, name), HostTensor.Span<float>(p, name));
        return p;
    }

    private void EncodeSparse(string name, Tensor p, TopKSelector.Selection selection, long ties, bool zeroSent, NamedTensors output)
    {
        var x = HostTensor.Span<float>(p, name);
        var probe = ties;
        var k = TopKSelector.Count(x, selection, ref probe);
        var values = HostTensor.Empty(k, ScalarType.Float32);
        var indices = ArrayPool<int>.Shared.Rent(Math.Max(1, k));
        try
        {
            TopKSelector.Gather(x, selection, ref ties, indices, HostTensor.Span<float>(values, name));
            var kept = indices.AsSpan(0, k);
            var n = x.Length;
            if ((n + 7) / 8 < 4L * k)
            {
                var mask = zeros([(n + 7) / 8], ScalarType.Byte);
                var bits = HostTensor.Span<byte>(mask, name);
                foreach (var i in kept) bits[i >> 3] |= (byte)(1 << (i & 7));
                output.Add(PartName(name, _maskPart), mask);
            }
            else
            {
                var gaps = HostTensor.Empty(k, ScalarType.Int32);
                var g = HostTensor.Span<int>(gaps, name);
                for (var j = 0; j < k; j++) g[j] = j == 0 ? kept[0] : kept[j] - kept[j - 1];
                output.Add(PartName(name, _indexPart), gaps);
            }
            if (zeroSent)
                foreach (var i in kept) x[i] = 0;
        }
        catch
        {
            values.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(indices);
        }
        output.Add(name, values);
        output.Add(PartName(name, _shapePart), HostTensor.ShapeTensor(p.shape));
    }

    protected override void CheckMessage(IReadOnlyList<Coded> coded)
    {
        foreach (var group in Groups(coded.Count))
        {
            long n = 0, k = 0;
            foreach (var j in group)
            {
                var c = coded[j];
                n += HostTensor.Count(HostTensor.ReadShape(Part(c.Name, c.Parts, _shapePart), PartName(c.Name, _shapePart)));
                if (c.Primary.dim() != 1) throw new InvalidDataException($"tensor '{c.Name}': kept values must be 1-D, got {HostTensor.Describe(c.Primary.shape)}");
                k += c.Primary.numel();
            }
            var expected = TopKSelector.Keep(n, Fraction);
            if (k != expected)
            {
                var what = group.Length == 1 ? $"tensor '{coded[group[0]].Name}'" : $"the message's {group.Length} tensors";
                throw new InvalidDataException($"{what}: {k} kept values of {n}; {Id} keeps {expected}");
            }
        }
    }

    protected override Tensor DecodeTensor(string name, Tensor primary, IReadOnlyDictionary<string, Tensor> parts, CodecContext context)
    {
        var shape = HostTensor.ReadShape(Part(name, parts, _shapePart), PartName(name, _shapePart));
        var n = (int)HostTensor.Count(shape);
        var values = HostTensor.Span<float>(primary, name);
        var hasMask = parts.TryGetValue(_maskPart, out var mask);
        var hasIndex = parts.TryGetValue(_indexPart, out var index);
        if (hasMask == hasIndex) throw new InvalidDataException($"tensor '{name}': needs exactly one of its '{_maskPart}' and '{_indexPart}' parts");
        context.Budget.Take((long)n * sizeof(float), name);
        var result = zeros(shape, ScalarType.Float32);
        try
        {
            var x = HostTensor.Span<float>(result, name);
            if (hasMask) ScatterMask(name, mask!, n, values, x);
            else ScatterGaps(name, index!, n, values, x);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private static void ScatterMask(string name, Tensor mask, int n, ReadOnlySpan<float> values, Span<float> x)
    {
        if (mask.dtype != ScalarType.Byte || mask.dim() != 1 || mask.numel() != (n + 7) / 8)
            throw new InvalidDataException($"tensor '{name}': a position bitmap for {n} entries is {(n + 7) / 8} uint8 bytes, got {mask.dtype} {HostTensor.Describe(mask.shape)}");
        var bits = HostTensor.Span<byte>(mask, name);
        if (n % 8 != 0 && bits[^1] >> (n % 8) != 0) throw new InvalidDataException($"tensor '{name}': its bitmap marks positions past the last of {n}");
        var population = 0L;
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(bits);
        foreach (var w in words) population += BitOperations.PopCount(w);
        foreach (var b in bits[(words.Length * 8)..]) population += BitOperations.PopCount(b);
        if (population != values.Length)
            throw new InvalidDataException($"tensor '{name}': its bitmap marks {population} positions for {values.Length} values");
        var j = 0;
        for (var w = 0; w < words.Length; w++)
            for (var word = words[w]; word != 0; word &= word - 1)
                x[w * 64 + BitOperations.TrailingZeroCount(word)] = values[j++];
        for (var i = words.Length * 8; i < bits.Length; i++)
            for (int b = bits[i]; b != 0; b &= b - 1)
                x[i * 8 + BitOperations.TrailingZeroCount(b)] = values[j++];
    }

    private static void ScatterGaps(string name, Tensor index, int n, ReadOnlySpan<float> values, Span<float> x)
    {
        if (index.dtype != ScalarType.Int32 || index.dim() != 1 || index.numel() != values.Length)
            throw new InvalidDataException($"tensor '{name}': {values.Length} values need as many int32 position gaps, got {index.dtype} {HostTensor.Describe(index.shape)}");
        var gaps = HostTensor.Span<int>(index, name);
        long position = -1;
        for (var j = 0; j < gaps.Length; j++)
        {
            var gap = gaps[j];
            if (j > 0 && gap < 1)
                throw new InvalidDataException($"tensor '{name}': position {position + gap} repeats or precedes the one before it (gap {gap})");
            position = j == 0 ? gap : position + gap;
            if (position < 0 || position >= n) throw new InvalidDataException($"tensor '{name}': position {position} is out of range [0, {n})");
            x[(int)position] = values[j];
        }
    }
}

/// <summary><c>topk:fraction</c>: per tensor, the ⌈fraction·n⌉ largest magnitudes, with error feedback on the uplink (§6.3).</summary>
internal sealed class TopKCodec(string id, double fraction) : SparseCodec(id, "topk", fraction, feedback: true)
{
    protected override IEnumerable<int[]> Groups(int count) => Enumerable.Range(0, count).Select(j => new[] { j });
}

/// <summary>
/// <c>sparse-lora:density[:ef]</c>: the largest-magnitude share of all adapter entries taken together, so tensors
/// that changed more keep more (FLASC-style sparse LoRA, §6.4); error feedback only with <c>:ef</c>.
/// </summary>
internal sealed class SparseLoraCodec(string id, double density, bool feedback) : SparseCodec(id, "sparse", density, feedback)
{
    protected override IEnumerable<int[]> Groups(int count) => count == 0 ? [] : [Enumerable.Range(0, count).ToArray()];
}
