using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Confer.Privacy.SecureAggregation;

/// <summary>
/// The pseudo-random generator of secure aggregation: the AES-256-CTR keystream of a 32-byte seed (counter blocks
/// 0, 1, 2 … encrypted with AES-ECB), read as little-endian uint32 words, so each mask element is exactly uniform mod
/// 2^32. Both ends expand the same seed to the same mask; it is generated in chunks and added or subtracted in place,
/// so a mask never needs a second vector of memory. (Flower folds its seed to 32 bits for NumPy's Mersenne Twister,
/// which is not a cryptographic generator; this one is.)
/// </summary>
public static class MaskStream
{
    public const int SeedBytes = 32;

    /// <summary>Words per chunk: 64 KiB of keystream at a time.</summary>
    private const int ChunkWords = 16 * 1024;

    /// <summary>Writes the first <c>output.Length</c> words of the seed's stream.</summary>
    public static void Fill(ReadOnlySpan<byte> seed, Span<uint> output)
    {
        using var aes = Create(seed);
        var counters = new byte[ChunkWords * sizeof(uint)];
        for (long offset = 0; offset < output.Length; offset += ChunkWords)
        {
            var words = (int)Math.Min(ChunkWords, output.Length - offset);
            Keystream(aes, counters, offset, output.Slice((int)offset, words));
        }
    }

    /// <summary>target += stream (mod 2^32), or −= when <paramref name="subtract"/>.</summary>
    public static void Apply(ReadOnlySpan<byte> seed, Span<uint> target, bool subtract)
    {
        using var aes = Create(seed);
        var counters = new byte[ChunkWords * sizeof(uint)];
        var mask = new uint[ChunkWords];
        for (long offset = 0; offset < target.Length; offset += ChunkWords)
        {
            var words = (int)Math.Min(ChunkWords, target.Length - offset);
            var chunk = target.Slice((int)offset, words);
            var stream = mask.AsSpan(0, words);
            Keystream(aes, counters, offset, stream);
            // uint arithmetic wraps: this is addition in Z/2^32, vectorised.
            if (subtract) TensorPrimitives.Subtract(chunk, stream, chunk);
            else TensorPrimitives.Add(chunk, stream, chunk);
        }
    }

    private static Aes Create(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedBytes) throw new ArgumentException($"A mask seed is {SeedBytes} bytes, not {seed.Length}.", nameof(seed));
        var aes = Aes.Create();
        aes.Key = seed.ToArray();
        return aes;
    }

    /// <summary>Keystream words [first, first + output.Length): 4 words per 16-byte counter block, counter = word index / 4.</summary>
    private static void Keystream(Aes aes, byte[] counters, long firstWord, Span<uint> output)
    {
        var blocks = (output.Length + 3) / 4;
        var plain = counters.AsSpan(0, blocks * 16);
        plain.Clear();
        var firstBlock = firstWord / 4;
        for (var b = 0; b < blocks; b++) BinaryPrimitives.WriteInt64LittleEndian(plain.Slice(b * 16, 8), firstBlock + b);
        var cipher = new byte[blocks * 16];
        aes.EncryptEcb(plain, cipher, PaddingMode.None);
        var words = MemoryMarshal.Cast<byte, uint>(cipher.AsSpan());
        if (!BitConverter.IsLittleEndian)
            for (var i = 0; i < words.Length; i++) words[i] = BinaryPrimitives.ReverseEndianness(words[i]);
        words[..output.Length].CopyTo(output);
    }
}
