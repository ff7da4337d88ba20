namespace Confer.Data;

/// <summary>
/// A tiny seeded PRNG (SplitMix64) for data order. Used instead of <see cref="Random"/> so that shuffles are defined
/// by this code alone and stay identical across .NET versions and platforms.
/// </summary>
internal sealed class SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>A stream for (seed, epoch), so every epoch has its own order and any epoch can be replayed alone.</summary>
    public static SplitMix64 ForEpoch(long seed, int epoch) =>
        new(unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ ((ulong)epoch + 1) * 0xD1B54A32D192ED03UL));

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform integer in [0, maxExclusive) without modulo bias (rejection sampling).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        var n = (ulong)maxExclusive;
        var limit = ulong.MaxValue - ulong.MaxValue % n;
        ulong x;
        do x = NextUInt64(); while (x >= limit);
        return (int)(x % n);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle(int[] items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
