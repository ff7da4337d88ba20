namespace Confer.Federation;

/// <summary>
/// Derives independent, reproducible seeds from (run seed, round, client id) so that a resumed run draws exactly what
/// the original run drew. Uses FNV-1a and a SplitMix64 finaliser, never <c>string.GetHashCode</c> (randomised per process).
/// </summary>
internal static class SeedMix
{
    public static ulong Mix(int seed, int round, string? clientId = null)
    {
        ulong h = 14695981039346656037UL;
        h = Step(h, (ulong)(uint)seed);
        h = Step(h, (ulong)(uint)round);
        if (clientId is not null)
            foreach (var c in clientId) h = Step(h, c);
        // SplitMix64 finaliser: spreads nearby inputs over the whole range.
        h ^= h >> 30; h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 27; h *= 0x94D049BB133111EBUL;
        return h ^ (h >> 31);
    }

    private static ulong Step(ulong h, ulong value) => (h ^ value) * 1099511628211UL;
}
