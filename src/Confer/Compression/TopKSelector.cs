using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Confer.Compression;

/// <summary>
/// Finds the k largest magnitudes of one or more fp32 spans taken as one vector (ties → lower position, algorithms.md
/// §6.3) without sorting: a radix select over the magnitudes' bit patterns (for non-negative floats the bit pattern
/// orders like the value). The 31 magnitude bits are three digits of 11, 10 and 10 bits; the first pass histograms
/// the top digit of every element, and each later pass histograms the next digit of only the elements that share the
/// digits found so far, which a vectorised compare picks out. The histograms stay in the L1 cache (2,048 and 1,024
/// bins), so a small LoRA tensor costs three short passes, not a sort, and a large one three streaming passes.
/// The selection is the elements whose magnitude bits exceed <see cref="Selection.Threshold"/>, plus the first
/// <see cref="Selection.Ties"/> elements (in span order, then index order) whose bits equal it: it depends only on the
/// values and k, not on how it was found.
/// </summary>
internal static class TopKSelector
{
    private const int HighShift = 20;
    private const int MidShift = 10;
    private const uint DigitMask = (1u << MidShift) - 1;

    /// <summary>Interleaved copies of the first histogram: runs of equal digits (common in LoRA deltas) then update four counters in turn instead of waiting on one.</summary>
    private const int Lanes = 4;

    /// <summary>Spans from this length count through all <see cref="Lanes"/>; shorter ones through one.</summary>
    private const int LanedFrom = 1 << 16;

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
        var histogram = HighScratch();
        for (var p = 0; p < count; p++) HighHistogram(parts(p), histogram);
        var (high, above) = Bin(histogram, k, 0);
        histogram = DigitScratch();
        for (var p = 0; p < count; p++) DigitHistogram(parts(p), HighShift, high, MidShift, histogram);
        var (mid, aboveMid) = Bin(histogram, k, above);
        histogram = DigitScratch();
        for (var p = 0; p < count; p++) DigitHistogram(parts(p), MidShift, high << (HighShift - MidShift) | mid, 0, histogram);
        var (low, aboveLow) = Bin(histogram, k, aboveMid);
        return new((long)(high << HighShift | mid << MidShift | low), k - aboveLow);
    }

    /// <summary>The same selection over one span, without a delegate call per pass: top-k selects once per tensor.</summary>
    public static Selection Select(ReadOnlySpan<float> x, long k)
    {
        if (k <= 0) return new(long.MaxValue, 0);
        if (k >= x.Length) return new(-1, 0);
        var histogram = HighScratch();
        HighHistogram(x, histogram);
        var (high, above) = Bin(histogram, k, 0);
        histogram = DigitScratch();
        DigitHistogram(x, HighShift, high, MidShift, histogram);
        var (mid, aboveMid) = Bin(histogram, k, above);
        histogram = DigitScratch();
        DigitHistogram(x, MidShift, high << (HighShift - MidShift) | mid, 0, histogram);
        var (low, aboveLow) = Bin(histogram, k, aboveMid);
        return new((long)(high << HighShift | mid << MidShift | low), k - aboveLow);
    }

    // Scratch reused by the thread: a message of a hundred small tensors selects a hundred times.
    [ThreadStatic] private static long[]? _highHistogram;
    [ThreadStatic] private static long[]? _digitHistogram;
    [ThreadStatic] private static uint[]? _lanes;

    private static long[] HighScratch()
    {
        var histogram = _highHistogram ??= new long[1 << (31 - HighShift)];
        Array.Clear(histogram);
        return histogram;
    }

    private static long[] DigitScratch()
    {
        var histogram = _digitHistogram ??= new long[1 << MidShift];
        Array.Clear(histogram);
        return histogram;
    }

    /// <summary>
    /// Adds the count of each top digit of <paramref name="x"/> to <paramref name="histogram"/>, through
    /// <see cref="Lanes"/> interleaved uint counters (a span holds fewer than 2³² elements); a short span uses one,
    /// so that clearing and merging the counters does not cost more than counting.
    /// </summary>
    private static void HighHistogram(ReadOnlySpan<float> x, long[] histogram)
    {
        var bins = histogram.Length;
        var lanes = _lanes ??= new uint[Lanes * bins];
        var used = x.Length < LanedFrom ? 1 : Lanes;
        Array.Clear(lanes, 0, used * bins);
        var bits = MemoryMarshal.Cast<float, uint>(x);
        // Unchecked indexing: a magnitude's top digit is below 2,048 by construction, so every index is in range.
        ref var b0 = ref MemoryMarshal.GetArrayDataReference(lanes);
        ref var b1 = ref Unsafe.Add(ref b0, bins);
        ref var b2 = ref Unsafe.Add(ref b0, 2 * bins);
        ref var b3 = ref Unsafe.Add(ref b0, 3 * bins);
        ref var xr = ref MemoryMarshal.GetReference(bits);
        var i = 0;
        if (used == Lanes)
            for (; i <= bits.Length - Lanes; i += Lanes)
            {
                Unsafe.Add(ref b0, (int)((Unsafe.Add(ref xr, i) & 0x7FFFFFFFu) >> HighShift))++;
                Unsafe.Add(ref b1, (int)((Unsafe.Add(ref xr, i + 1) & 0x7FFFFFFFu) >> HighShift))++;
                Unsafe.Add(ref b2, (int)((Unsafe.Add(ref xr, i + 2) & 0x7FFFFFFFu) >> HighShift))++;
                Unsafe.Add(ref b3, (int)((Unsafe.Add(ref xr, i + 3) & 0x7FFFFFFFu) >> HighShift))++;
            }
        for (; i < bits.Length; i++) Unsafe.Add(ref b0, (int)((Unsafe.Add(ref xr, i) & 0x7FFFFFFFu) >> HighShift))++;
        for (var lane = 0; lane < used; lane++)
            for (var b = 0; b < bins; b++) histogram[b] += lanes[lane * bins + b];
    }

    /// <summary>
    /// Counts the digit at <paramref name="digitShift"/> (10 bits) of the elements whose magnitude bits above
    /// <paramref name="prefixShift"/> equal <paramref name="prefix"/>; the compare runs 8 elements at a time and only
    /// the matches (a few percent) are counted one by one.
    /// </summary>
    private static void DigitHistogram(ReadOnlySpan<float> x, int prefixShift, uint prefix, int digitShift, long[] histogram)
    {
        var bits = MemoryMarshal.Cast<float, uint>(x);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var br = ref MemoryMarshal.GetReference(bits);
            var vPrefix = Vector256.Create(prefix);
            var vMask = Vector256.Create(0x7FFFFFFFu);
            for (; i <= bits.Length - 8; i += 8)
            {
                var m = Vector256.LoadUnsafe(ref br, (nuint)i) & vMask;
                var hit = Vector256.Equals(Vector256.ShiftRightLogical(m, prefixShift), vPrefix).ExtractMostSignificantBits();
                while (hit != 0)
                {
                    var lane = BitOperations.TrailingZeroCount(hit);
                    hit &= hit - 1;
                    histogram[(int)((m.GetElement(lane) >> digitShift) & DigitMask)]++;
                }
            }
        }
        for (; i < bits.Length; i++)
        {
            var m = bits[i] & 0x7FFFFFFFu;
            if (m >> prefixShift == prefix) histogram[(int)((m >> digitShift) & DigitMask)]++;
        }
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
