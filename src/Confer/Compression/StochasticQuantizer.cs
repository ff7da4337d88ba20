using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Confer.Compression;

/// <summary>
/// Unbiased stochastic uniform quantisation (QSGD, arXiv 1610.02132, used by FedPAQ, arXiv 1909.13014) of fp32 values to
/// integer levels q ∈ [−s, s]: with m the scale of the value's chunk, ℓ = ⌊s|x|/m⌋ and p = s|x|/m − ℓ, the level is
/// sign(x)(ℓ + b) with b ~ Bernoulli(p), and x̂ = q·m/s, so E[x̂] = x. The chunk's scale is its largest magnitude
/// (algorithms.md §6.2 uses the L2 norm; any m ≥ max|x| keeps the estimate unbiased, and the largest magnitude uses
/// every level, where the norm of a 256-value chunk would leave most values on the lowest few).
/// <para>
/// The Bernoulli draws come from a counter-based hash of (stream key, element index), not from a sequential generator:
/// a value's draw depends only on the message's context and its position, so the vector and scalar paths agree bit for
/// bit, and a sender re-encoding the same update (a re-run round, a restarted client) sends the same bytes.
/// </para>
/// </summary>
internal static class StochasticQuantizer
{
    /// <summary>2^-24: a 24-bit integer times this is a uniform draw on [0, 1) that converts to fp32 exactly.</summary>
    private const float Unit = 1f / (1 << 24);

    /// <summary>Quantises every chunk of <paramref name="x"/> with its largest magnitude as scale; element 0 of <paramref name="x"/> has index <paramref name="firstIndex"/>.</summary>
    public static void Quantize(ReadOnlySpan<float> x, int levels, int chunk, ulong key, long firstIndex, Span<sbyte> q, Span<float> scales)
    {
        for (int c = 0, start = 0; start < x.Length; c++, start += chunk)
        {
            var part = x.Slice(start, Math.Min(chunk, x.Length - start));
            var scale = MathF.Abs(TensorPrimitives.MaxMagnitude(part));
            scales[c] = scale;
            QuantizeChunk(part, scale, levels, key, firstIndex + start, q.Slice(start, part.Length));
        }
    }

    /// <summary>
    /// Quantises one chunk with a given scale (≥ max |x|). A zero scale sends zeros; a scale that is not finite (the
    /// chunk held NaN or ∞) sends zeros too, and the receiver refuses the non-finite scale by name.
    /// </summary>
    public static void QuantizeChunk(ReadOnlySpan<float> x, float scale, int levels, ulong key, long firstIndex, Span<sbyte> q)
    {
        if (!(scale > 0) || !float.IsFinite(scale))
        {
            q.Clear();
            return;
        }
        var inverse = levels / scale;
        var (k1, k2) = ((uint)key, (uint)(key >> 32));
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var xr = ref MemoryMarshal.GetReference(x);
            ref var qr = ref MemoryMarshal.GetReference(q);
            var vInverse = Vector256.Create(inverse);
            var vLevels = Vector256.Create((float)levels);
            var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
            for (; i <= x.Length - 32; i += 32)
            {
                var first = (uint)(firstIndex + i);
                var a = Level(Vector256.LoadUnsafe(ref xr, (nuint)i), vInverse, vLevels, lane + Vector256.Create(first), k1, k2);
                var b = Level(Vector256.LoadUnsafe(ref xr, (nuint)(i + 8)), vInverse, vLevels, lane + Vector256.Create(first + 8), k1, k2);
                var c = Level(Vector256.LoadUnsafe(ref xr, (nuint)(i + 16)), vInverse, vLevels, lane + Vector256.Create(first + 16), k1, k2);
                var d = Level(Vector256.LoadUnsafe(ref xr, (nuint)(i + 24)), vInverse, vLevels, lane + Vector256.Create(first + 24), k1, k2);
                Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d)).StoreUnsafe(ref qr, (nuint)i);
            }
        }
        for (; i < x.Length; i++)
        {
            var y = MathF.Abs(x[i]) * inverse;
            var floor = MathF.Floor(y);
            var u = (Hash((uint)(firstIndex + i), k1, k2) >> 8) * Unit;
            var level = MathF.Min(floor + (u < y - floor ? 1f : 0f), levels);
            q[i] = (sbyte)(int)MathF.CopySign(level, x[i]);
        }
    }

    /// <summary>x̂ = q · m/s for every chunk.</summary>
    public static void Dequantize(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, int levels, int chunk, Span<float> x)
    {
        for (int c = 0, start = 0; start < q.Length; c++, start += chunk)
        {
            var length = Math.Min(chunk, q.Length - start);
            DequantizeChunk(q.Slice(start, length), scales[c] / levels, x.Slice(start, length));
        }
    }

    private static void DequantizeChunk(ReadOnlySpan<sbyte> q, float step, Span<float> x)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var qr = ref MemoryMarshal.GetReference(q);
            ref var xr = ref MemoryMarshal.GetReference(x);
            var vStep = Vector256.Create(step);
            for (; i <= q.Length - 32; i += 32)
            {
                var bytes = Vector256.LoadUnsafe(ref qr, (nuint)i);
                var (low, high) = Vector256.Widen(bytes);
                var (a, b) = Vector256.Widen(low);
                var (c, d) = Vector256.Widen(high);
                (Vector256.ConvertToSingle(a) * vStep).StoreUnsafe(ref xr, (nuint)i);
                (Vector256.ConvertToSingle(b) * vStep).StoreUnsafe(ref xr, (nuint)(i + 8));
                (Vector256.ConvertToSingle(c) * vStep).StoreUnsafe(ref xr, (nuint)(i + 16));
                (Vector256.ConvertToSingle(d) * vStep).StoreUnsafe(ref xr, (nuint)(i + 24));
            }
        }
        for (; i < q.Length; i++) x[i] = q[i] * step;
    }

    /// <summary>Eight values to signed levels, exactly as the scalar loop computes them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Level(Vector256<float> x, Vector256<float> inverse, Vector256<float> levels, Vector256<uint> index, uint k1, uint k2)
    {
        var y = Vector256.Abs(x) * inverse;
        var floor = Vector256.Floor(y);
        var u = Vector256.ConvertToSingle((Hash(index, k1, k2) >> 8).AsInt32()) * Vector256.Create(Unit);
        var up = Vector256.LessThan(u, y - floor) & Vector256<float>.One;
        var level = Vector256.Min(floor + up, levels);
        return Vector256.ConvertToInt32(Vector256.CopySign(level, x));
    }

    /// <summary>Two rounds of the "lowbias32" integer hash (C. Wellons), keyed by both halves of the stream key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Hash(uint index, uint k1, uint k2) => Mix(Mix(index ^ k1) ^ k2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Hash(Vector256<uint> index, uint k1, uint k2) => Mix(Mix(index ^ Vector256.Create(k1)) ^ Vector256.Create(k2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        return x ^ (x >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Mix(Vector256<uint> x)
    {
        x ^= x >> 16;
        x *= Vector256.Create(0x7FEB352Du);
        x ^= x >> 15;
        x *= Vector256.Create(0x846CA68Bu);
        return x ^ (x >> 16);
    }
}
