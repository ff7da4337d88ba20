using System.Numerics;
using System.Security.Cryptography;

namespace Confer.Privacy.SecureAggregation;

/// <summary>
/// Shamir secret sharing over the prime field p = 2^521 − 1 (a Mersenne prime, so any 32-byte secret is one field
/// element): a secret s becomes n shares (x, f(x)) at x = 1..n of a random polynomial f of degree t − 1 with f(0) = s;
/// any t shares give s back by Lagrange interpolation at 0, fewer reveal nothing. Reconstruction with fewer than t
/// shares throws instead of returning a wrong value, and extra shares are checked against the polynomial the first t
/// define, so one corrupted share is caught rather than turned into a wrong secret.
/// </summary>
public static class Shamir
{
    /// <summary>The field modulus 2^521 − 1.</summary>
    public static readonly BigInteger Prime = (BigInteger.One << 521) - 1;

    /// <summary>Bytes of one share value on the wire (521 bits, big-endian, zero-padded).</summary>
    public const int ShareBytes = 66;

    /// <summary>Shares (x = 1..<paramref name="count"/>) of <paramref name="secret"/> with a fresh random polynomial.</summary>
    public static IReadOnlyList<BigInteger> Split(BigInteger secret, int threshold, int count)
    {
        CheckParameters(threshold, count);
        var coefficients = new BigInteger[threshold - 1];
        for (var i = 0; i < coefficients.Length; i++) coefficients[i] = RandomFieldElement();
        return Split(secret, coefficients, count);
    }

    /// <summary>Shares of <paramref name="secret"/> under the polynomial with the given higher coefficients (a_1 … a_{t−1}).</summary>
    public static IReadOnlyList<BigInteger> Split(BigInteger secret, IReadOnlyList<BigInteger> coefficients, int count)
    {
        CheckParameters(coefficients.Count + 1, count);
        if (secret.Sign < 0 || secret >= Prime) throw new ArgumentOutOfRangeException(nameof(secret), "The secret must be a field element in [0, p).");
        var shares = new BigInteger[count];
        for (var x = 1; x <= count; x++)
        {
            // Horner's rule from the highest coefficient down to the secret.
            var y = BigInteger.Zero;
            for (var i = coefficients.Count - 1; i >= 0; i--) y = (y + coefficients[i]) * x % Prime;
            shares[x - 1] = (y + secret) % Prime;
        }
        return shares;
    }

    /// <summary>
    /// f(0) from at least <paramref name="threshold"/> shares with distinct x. Throws <see cref="InvalidDataException"/>
    /// with fewer, with a repeated or out-of-range x, or when a share beyond the first t does not lie on their polynomial.
    /// </summary>
    public static BigInteger Reconstruct(IReadOnlyList<(int X, BigInteger Y)> shares, int threshold)
    {
        if (threshold < 1) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be ≥ 1.");
        if (shares.Count < threshold)
            throw new InvalidDataException($"{shares.Count} share(s) arrived; at least {threshold} are needed to reconstruct the secret.");
        if (shares.Select(s => s.X).Distinct().Count() != shares.Count || shares.Any(s => s.X < 1))
            throw new InvalidDataException("shares must have distinct positive x.");
        if (shares.Any(s => s.Y.Sign < 0 || s.Y >= Prime)) throw new InvalidDataException("a share value is not a field element.");
        var basis = shares.Take(threshold).ToList();
        var weights = InverseDenominators(basis);
        var secret = Interpolate(basis, weights, 0);
        foreach (var extra in shares.Skip(threshold))
            if (Interpolate(basis, weights, extra.X) != extra.Y)
                throw new InvalidDataException($"the share at x = {extra.X} does not match the others: a share is corrupted.");
        return secret;
    }

    /// <summary>A 32-byte secret as a field element (unsigned big-endian).</summary>
    public static BigInteger FromSecretBytes(ReadOnlySpan<byte> secret) => new(secret, isUnsigned: true, isBigEndian: true);

    /// <summary>The 32-byte secret a field element holds; throws when it does not fit (a wrong reconstruction).</summary>
    public static byte[] ToSecretBytes(BigInteger value, int length = 32)
    {
        var bytes = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        if (bytes.Length > length) throw new InvalidDataException($"the reconstructed secret does not fit in {length} bytes.");
        var padded = new byte[length];
        bytes.CopyTo(padded, length - bytes.Length);
        return padded;
    }

    /// <summary>A share value as <see cref="ShareBytes"/> big-endian bytes.</summary>
    public static byte[] ShareToBytes(BigInteger y) => ToSecretBytes(y, ShareBytes);

    /// <summary>A share value from its wire bytes.</summary>
    public static BigInteger ShareFromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != ShareBytes) throw new InvalidDataException($"a share is {bytes.Length} bytes, not {ShareBytes}.");
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }

    /// <summary>
    /// Lagrange interpolation of the polynomial through <paramref name="points"/> at <paramref name="at"/>, mod p, with
    /// the inverses of the basis denominators ∏_{j≠i}(x_i − x_j) precomputed (<see cref="InverseDenominators"/>). The
    /// numerators ∏_{j≠i}(at − x_j) are products of small integers, so an evaluation costs t field multiplications.
    /// </summary>
    private static BigInteger Interpolate(IReadOnlyList<(int X, BigInteger Y)> points, BigInteger[] inverseDenominators, int at)
    {
        var sum = BigInteger.Zero;
        for (var i = 0; i < points.Count; i++)
        {
            var numerator = BigInteger.One;
            for (var j = 0; j < points.Count; j++)
                if (j != i) numerator *= at - points[j].X;
            sum = (sum + points[i].Y * Mod(numerator) % Prime * inverseDenominators[i]) % Prime;
        }
        return sum;
    }

    /// <summary>
    /// 1 / ∏_{j≠i}(x_i − x_j) mod p for every basis point, with one modular exponentiation for all of them (Montgomery's
    /// batch inversion: invert the product, then peel off one factor at a time). A Fermat inversion per term and per
    /// evaluation made a 50-client unmasking take a minute: d^(p−2) over a 521-bit p is the costly operation here.
    /// </summary>
    private static BigInteger[] InverseDenominators(IReadOnlyList<(int X, BigInteger Y)> points)
    {
        var t = points.Count;
        var denominators = new BigInteger[t];
        for (var i = 0; i < t; i++)
        {
            var d = BigInteger.One;
            for (var j = 0; j < t; j++)
                if (j != i) d *= points[i].X - points[j].X;
            denominators[i] = Mod(d);
        }
        var prefix = new BigInteger[t];
        var running = BigInteger.One;
        for (var i = 0; i < t; i++) prefix[i] = running = running * denominators[i] % Prime;
        // Fermat: d^(p−2) is d's inverse in a prime field (no denominator is 0 mod p: the x are distinct and below p).
        var inverse = BigInteger.ModPow(running, Prime - 2, Prime);
        var inverses = new BigInteger[t];
        for (var i = t - 1; i > 0; i--)
        {
            inverses[i] = inverse * prefix[i - 1] % Prime;
            inverse = inverse * denominators[i] % Prime;
        }
        inverses[0] = inverse;
        return inverses;
    }

    private static BigInteger Mod(BigInteger v) => (v % Prime + Prime) % Prime;

    private static BigInteger RandomFieldElement()
    {
        Span<byte> bytes = stackalloc byte[ShareBytes];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            bytes[0] &= 0x01; // 521 bits
            var v = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            if (v < Prime) return v;
        }
    }

    private static void CheckParameters(int threshold, int count)
    {
        if (threshold < 1 || count < threshold)
            throw new ArgumentException($"Shamir sharing needs 1 ≤ threshold ≤ count (got threshold {threshold}, count {count}).");
    }
}
