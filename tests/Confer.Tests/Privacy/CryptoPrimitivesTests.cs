using System.Numerics;
using System.Security.Cryptography;
using Confer.Privacy.SecureAggregation;
using static TorchSharp.torch;

namespace Confer.Tests.Privacy;

/// <summary>The building blocks of secure aggregation against the oracles of algorithms.md §7.3.</summary>
public class CryptoPrimitivesTests
{
    [Fact]
    public void Shamir_wikipedia_example_gives_the_listed_shares_and_any_three_reconstruct_1234()
    {
        var shares = Shamir.Split(1234, [166, 94], 5);
        Assert.Equal([1494, 1942, 2578, 3402, 4414], shares.Select(s => (int)s));
        var points = shares.Select((y, i) => (X: i + 1, Y: y)).ToList();
        for (var a = 0; a < 5; a++)
        for (var b = a + 1; b < 5; b++)
        for (var c = b + 1; c < 5; c++)
            Assert.Equal(1234, (int)Shamir.Reconstruct([points[a], points[b], points[c]], 3));
        // All five are consistent with the polynomial the first three define.
        Assert.Equal(1234, (int)Shamir.Reconstruct(points, 3));
    }

    [Fact]
    public void Shamir_with_fewer_than_the_threshold_of_shares_throws_and_a_corrupted_share_is_caught()
    {
        var secret = Shamir.FromSecretBytes(RandomNumberGenerator.GetBytes(32));
        var points = Shamir.Split(secret, 4, 7).Select((y, i) => (X: i + 1, Y: y)).ToList();
        Assert.Equal(secret, Shamir.Reconstruct(points.Take(4).ToList(), 4));
        Assert.Equal(secret, Shamir.Reconstruct(points.Skip(3).ToList(), 4));
        Assert.Throws<InvalidDataException>(() => Shamir.Reconstruct(points.Take(3).ToList(), 4));
        var corrupted = points.ToList();
        corrupted[5] = (corrupted[5].X, (corrupted[5].Y + 1) % Shamir.Prime);
        Assert.Throws<InvalidDataException>(() => Shamir.Reconstruct(corrupted, 4));
        Assert.Equal(Shamir.ShareBytes, Shamir.ShareToBytes(points[0].Y).Length);
        Assert.Equal(points[0].Y, Shamir.ShareFromBytes(Shamir.ShareToBytes(points[0].Y)));
    }

    [Fact]
    public void Key_agreement_is_symmetric_separates_labels_and_refuses_points_off_the_curve()
    {
        using var u = AgreementKey.Create();
        using var v = AgreementKey.Create();
        using var w = AgreementKey.Create();
        Assert.Equal(u.Agree(v.PublicKey, "mask"), v.Agree(u.PublicKey, "mask"));
        Assert.NotEqual(u.Agree(v.PublicKey, "mask"), u.Agree(v.PublicKey, "enc"));
        Assert.NotEqual(u.Agree(v.PublicKey, "mask"), u.Agree(w.PublicKey, "mask"));
        var bad = (byte[])v.PublicKey.Clone();
        bad[40] ^= 1;
        Assert.Throws<InvalidDataException>(() => u.Agree(bad, "mask"));
        Assert.Throws<InvalidDataException>(() => AgreementKey.Validate(bad[..64]));

        // A private key rebuilt from its 32 bytes agrees like the original; another scalar for that public key is refused.
        using var rebuilt = AgreementKey.FromPrivateKey(u.ExportPrivateKey(), u.PublicKey);
        Assert.Equal(u.Agree(w.PublicKey, "mask"), rebuilt.Agree(w.PublicKey, "mask"));
        Assert.Throws<InvalidDataException>(() => AgreementKey.FromPrivateKey(v.ExportPrivateKey(), u.PublicKey));
    }

    [Fact]
    public void Mask_stream_is_deterministic_per_seed_uniform_in_its_low_byte_and_cancels()
    {
        var seed = RandomNumberGenerator.GetBytes(32);
        var a = new uint[100_003];
        var b = new uint[100_003];
        MaskStream.Fill(seed, a);
        MaskStream.Fill(seed, b);
        Assert.Equal(a, b);
        Assert.True(Uniformity.LowBytePValue(a) > 0.001, $"p = {Uniformity.LowBytePValue(a)}");
        var other = new uint[a.Length];
        MaskStream.Fill(RandomNumberGenerator.GetBytes(32), other);
        Assert.NotEqual(a, other);

        var values = Enumerable.Range(0, a.Length).Select(i => (uint)i * 2654435761u).ToArray();
        var masked = (uint[])values.Clone();
        MaskStream.Apply(seed, masked, subtract: false);
        Assert.Equal(values.Zip(a, (x, m) => unchecked(x + m)), masked);
        MaskStream.Apply(seed, masked, subtract: true);
        Assert.Equal(values, masked);
    }

    [Fact]
    public void Fixed_point_roundtrip_is_within_c_over_T_and_n_clients_at_c_decode_to_n_c()
    {
        // One contributor: T = 2^32 − 1, words above 2^31 must survive the conversion.
        foreach (var contributors in new[] { 1, 3, 50 })
        {
            var fp = FixedPoint.ForContributors(8, contributors);
            using var x = linspace(-8, 8, 10_001, dtype: ScalarType.Float64);
            var (words, clamped) = fp.Encode(x);
            Assert.Equal(0, clamped);
            using var back = fp.DecodeSum(words, 1, [words.Length]);
            var error = back.sub(x).abs().max().item<double>();
            // c/T from rounding to the grid, plus float64 rounding of the decode itself (~1e-15 of c).
            Assert.True(error <= fp.Resolution + 1e-14, $"{contributors}: error {error} > c/T = {fp.Resolution}");

            var sum = new uint[1];
            for (var k = 0; k < contributors; k++)
            {
                var (w, _) = fp.Encode(tensor(new[] { 8.0 }));
                sum[0] = unchecked(sum[0] + w[0]);
            }
            using var total = fp.DecodeSum(sum, contributors, [1]);
            Assert.True(Math.Abs(total.item<double>() - 8.0 * contributors) <= contributors * fp.Resolution, $"{contributors}: {total.item<double>()}");
        }
        var (_, over) = FixedPoint.ForContributors(1, 3).Encode(tensor(new[] { 0.5, 1.5, -2.0 }));
        Assert.Equal(2, over);
    }

    [Fact]
    public void Share_cipher_refuses_a_message_moved_to_another_pair()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var cipher = ShareCipher.Encrypt(key, [1, 2, 3], "s|0->1");
        Assert.Equal([1, 2, 3], ShareCipher.Decrypt(key, cipher, "s|0->1"));
        Assert.Throws<InvalidDataException>(() => ShareCipher.Decrypt(key, cipher, "s|0->2"));
        cipher[14] ^= 0x80;
        Assert.Throws<InvalidDataException>(() => ShareCipher.Decrypt(key, cipher, "s|0->1"));
    }
}
