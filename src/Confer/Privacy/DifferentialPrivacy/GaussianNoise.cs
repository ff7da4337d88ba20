using System.Security.Cryptography;
using System.Text;
using Confer.Privacy.SecureAggregation;
using static TorchSharp.torch;

namespace Confer.Privacy.DifferentialPrivacy;

/// <summary>
/// Gaussian noise for differential privacy drawn from a keyed cryptographic stream: the AES-256-CTR keystream of
/// HKDF(key, label) (<see cref="MaskStream"/>) gives 53-bit uniforms, and the Box–Muller transform turns pairs of them
/// into normals, as tensor operations. Whoever does not hold the key cannot predict or subtract the noise (libtorch's
/// Mersenne Twister would be predictable from its outputs); whoever holds it draws the same noise again, which is
/// what makes a simulation reproducible and a restarted server add the noise it would have added.
/// </summary>
public static class GaussianNoise
{
    /// <summary>N(0, std²) samples of <paramref name="shape"/> (fp32) for one use of <paramref name="key"/>, named by <paramref name="label"/>.</summary>
    public static Tensor Sample(ReadOnlySpan<byte> key, string label, long[] shape, double std)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        if (count == 0 || std == 0) return zeros(shape);
        var pairs = (count + 1) / 2;
        var words = new uint[checked(pairs * 4)];
        MaskStream.Fill(HKDF.DeriveKey(HashAlgorithmName.SHA256, key.ToArray(), MaskStream.SeedBytes, [], Encoding.UTF8.GetBytes(label)), words);
        var asDouble = new double[words.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<uint, double>(words, asDouble);
        using var scope = NewDisposeScope();
        // Each uniform takes two words: (hi·2^32 + lo + ½) / 2^64 ∈ (0, 1], 53 bits after rounding to double.
        var w = tensor(asDouble, ScalarType.Float64).reshape(pairs, 2, 2);
        var u = w.select(2, 0).mul(4294967296.0).add(w.select(2, 1)).add(0.5).div(18446744073709551616.0);
        var radius = u.select(1, 0).log().mul(-2).sqrt();
        var angle = u.select(1, 1).mul(2 * Math.PI);
        var normals = cat([radius.mul(angle.cos()), radius.mul(angle.sin())], 0).narrow(0, 0, count);
        return normals.mul(std).to(ScalarType.Float32).reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>A fresh secret key from the system's cryptographic generator.</summary>
    public static byte[] SecretKey() => RandomNumberGenerator.GetBytes(32);

    /// <summary>A key derived from a run seed and a purpose: reproducible, and only as secret as the seed.</summary>
    public static byte[] KeyFromSeed(int seed, string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, BitConverter.GetBytes(seed), 32, Encoding.UTF8.GetBytes("confer/dp"), Encoding.UTF8.GetBytes(purpose));
}
