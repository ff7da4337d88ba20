using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Confer.Compression;

/// <summary>
/// Finds the k largest magnitudes of one or more fp32 spans taken as one vector (ties → lower position, algorithms.md
/// §6.3) without sorting: a radix select over the magnitudes' bit patterns (for non-negative floats the bit pattern
/// orders like the value), two passes of 65,536-bin histograms, then a vectorised gather. The selection is the
/// elements whose magnitude bits exceed <see cref="Selection.Threshold"/>, plus the first <see cref="Selection.Ties"/>
/// elements (in span order, then index order) whose bits equal it.
/// </summary>
internal static class TopKSelector
{
    /// <summary>Below this many elements a sort of the magnitudes is cheaper than two histogram passes.</summary>
    private const int SortBelow = 1 << 15;

    /// <summary>The span of part <paramref name="index"/> of the vector.</summary>
    public delegate ReadOnlySpan<float> Parts(int index);

    /// <param name="Threshold">Magnitude bits; −1 selects everything, <see cref="long.MaxValue"/> nothing.</param>
    /// <param name="Ties">How many elements with exactly <paramref name="Threshold"/> are selected, in order.</param>
    public readonly record struct Selection(long Threshold, long Ties);

    /// <summary>k = ⌈fraction · n⌉, at least 1 of a non-empty vector and at most n (decimal arithmetic: 10 % of 30 is 3, not 4).</summary>
    public static long Keep(long n, double fraction) => n == 0 ? 0 : Math.Clamp((long)Math.Ceiling((decimal)fraction * n), 1, n);

    public static Selection Select(Parts parts, int count, long k)
    {
        long n = 0;
        for (var p = 0; p < count; p++) n += parts(p).Length;
        if (k <= 0) return new(long.MaxValue, 0);
        if (k >= n) return new(-1, 0);
        return n < SortBelow ? SelectBySort(parts, count, n, k) : SelectByRadix(parts, count, k);
    }

    private static Selection SelectBySort(Parts parts, int count, long n, long k)
    {
        var bits = new uint[n];
        var at = 0;
        for (var p = 0; p < count; p++)
            foreach (var x in parts(p)) bits[at++] = Magnitude(x);
        Array.Sort(bits);
        var threshold = bits[n - k];
        return new(threshold, k - Above(bits, threshold));
    }

    private static long Above(uint[] sorted, uint threshold)
    {
        long above = 0;
        for (var i = sorted.Length - 1; i >= 0 && sorted[i] > threshold; i--) above++;
        return above;
    }

    private static Selection SelectByRadix(Parts parts, int count, long k)
    {
        var histogram = new long[1 << 16];
        for (var p = 0; p < count; p++)
            foreach (var x in parts(p)) histogram[Magnitude(x) >> 16]++;
        var (high, above) = Bin(histogram, k, 0);
        Array.Clear(histogram);
        for (var p = 0; p < count; p++)
            foreach (var x in parts(p))
            {
                var m = Magnitude(x);
                if (m >> 16 == high) histogram[m & 0xFFFF]++;
            }
        var (low, aboveLow) = Bin(histogram, k, above);
        return new((long)(high << 16 | low), k - aboveLow);
    }

    /// <summary>The highest bin at which the count from the top reaches k, and the count strictly above it.</summary>
    private static (uint Bin, long Above) Bin(long[] histogram, long k, long above)
    {
        for (var b = histogram.Length - 1; b >= 0; b--)
        {
            if (above + histogram[b] >= k) return ((uint)b, above);
            above += histogram[b];
        }
        throw new InvalidOperationException("the histogram holds fewer than k elements");
    }

    /// <summary>How many elements of <paramref name="x"/> the selection takes, consuming ties from <paramref name="ties"/>.</summary>
    public static int Count(ReadOnlySpan<float> x, Selection selection, ref long ties)
    {
        if (selection.Threshold < 0) return x.Length;
        if (selection.Threshold > uint.MaxValue) return 0;
        var (above, equal) = CountAboveAndEqual(x, (uint)selection.Threshold);
        var taken = Math.Min(equal, ties);
        ties -= taken;
        return (int)(above + taken);
    }

    /// <summary>
    /// Writes the selected elements' positions (ascending) and values; returns how many. <paramref name="indices"/> and
    /// <paramref name="values"/> must hold <see cref="Count"/> of them.
    /// </summary>
    public static int Gather(ReadOnlySpan<float> x, Selection selection, ref long ties, Span<int> indices, Span<float> values)
    {
        var taken = 0;
        if (selection.Threshold < 0)
        {
            for (var i = 0; i < x.Length; i++) indices[i] = i;
            x.CopyTo(values);
            return x.Length;
        }
        if (selection.Threshold > uint.MaxValue) return 0;
        var threshold = (uint)selection.Threshold;
        var i0 = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var bits = MemoryMarshal.Cast<float, uint>(x);
            ref var br = ref MemoryMarshal.GetReference(bits);
            var vThreshold = Vector256.Create(threshold);
            var vMask = Vector256.Create(0x7FFFFFFFu);
            for (; i0 <= x.Length - 8; i0 += 8)
            {
                var m = Vector256.LoadUnsafe(ref br, (nuint)i0) & vMask;
                var hit = Vector256.GreaterThanOrEqual(m, vThreshold).ExtractMostSignificantBits();
                while (hit != 0)
                {
                    var lane = BitOperations.TrailingZeroCount(hit);
                    hit &= hit - 1;
                    var i = i0 + lane;
                    if (Take(x[i], threshold, ref ties))
                    {
                        indices[taken] = i;
                        values[taken++] = x[i];
                    }
                }
            }
        }
        for (var i = i0; i < x.Length; i++)
            if (Take(x[i], threshold, ref ties))
            {
                indices[taken] = i;
                values[taken++] = x[i];
            }
        return taken;
    }

    private static bool Take(float x, uint threshold, ref long ties)
    {
        var m = Magnitude(x);
        if (m > threshold) return true;
        if (m != threshold || ties == 0) return false;
        ties--;
        return true;
    }

    private static (long Above, long Equal) CountAboveAndEqual(ReadOnlySpan<float> x, uint threshold)
    {
        long above = 0, equal = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var bits = MemoryMarshal.Cast<float, uint>(x);
            ref var br = ref MemoryMarshal.GetReference(bits);
            var vThreshold = Vector256.Create(threshold);
            var vMask = Vector256.Create(0x7FFFFFFFu);
            for (; i <= x.Length - 8; i += 8)
            {
                var m = Vector256.LoadUnsafe(ref br, (nuint)i) & vMask;
                above += BitOperations.PopCount(Vector256.GreaterThan(m, vThreshold).ExtractMostSignificantBits());
                equal += BitOperations.PopCount(Vector256.Equals(m, vThreshold).ExtractMostSignificantBits());
            }
        }
        for (; i < x.Length; i++)
        {
            var m = Magnitude(x[i]);
            if (m > threshold) above++;
            else if (m == threshold) equal++;
        }
        return (above, equal);
    }

    private static uint Magnitude(float x) => BitConverter.SingleToUInt32Bits(x) & 0x7FFFFFFFu;
}
