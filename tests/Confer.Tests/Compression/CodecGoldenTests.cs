using System.Security.Cryptography;
using System.Text;
using Confer.Compression;
using Confer.Federation.Clients;
using Confer.Models;
using ZstdSharp;
using static Confer.Tests.Compression.CodecKit;

namespace Confer.Tests.Compression;

/// <summary>
/// Pins what each codec sends on a fixed input, so a faster kernel cannot silently change the wire: the SHA-256 of
/// every encoded tensor (name, dtype, shape, bytes) over three rounds, its first 96 bits, of one client with error feedback. A zstd stage
/// is pinned by the payload its frame holds, not by the frame: the format fixes what is compressed, while how zstd
/// splits a frame into blocks is zstd's choice, and any conforming decoder reads either.
/// </summary>
public class CodecGoldenTests
{
    /// <summary>
    /// Sizes that take every path: a tensor of 70,001 entries (radix select, a bitmap at 10 %), small LoRA-shaped ones
    /// (sort path, gaps at 1 %), one with many exact ties, odd lengths that leave scalar tails in the vector kernels.
    /// </summary>
    private static NamedTensors Input(int round)
    {
        var ties = Gaussian(3000, 40 + round, 1e-3f);
        for (var i = 0; i < ties.Length; i++) ties[i] = MathF.Round(ties[i] * 4000) / 4000; // a few hundred distinct values
        return Message(
            ("big", Gaussian(70_001, 10 + round, 1e-3f), [70_001]),
            ("l0.lora_A.weight", Gaussian(8 * 512, 20 + round, 1e-3f), [8, 512]),
            ("l0.lora_B.weight", Gaussian(1376 * 8, 30 + round, 1e-3f), [1376, 8]),
            ("ties", ties, [3000]),
            ("odd", Gaussian(37, 50 + round, 1f), [37]));
    }

    public static TheoryData<string, string> Pinned => new()
    {
        { "fp16", "FF74F393061CAD2B9C513CE9" },
        { "bf16", "C138732E8C7BF9DEF19C0567" },
        { "int8", "417E00D1CC6E44B2345CA8D2" },
        { "int4", "37A91CB3067FD10BD2C7BA3B" },
        { "int2", "0669FB88F5C4FAFC14B5026E" },
        { "zstd", "C5E8AA571E74E62F0CFA17FB" },
        { "int8 > zstd", "C2F5DC20755D52423DB77869" },
        { "topk:0.1", "EAD6DD63547EFA89652985BC" },
        { "topk:0.01", "AE7ACC53969BB53C96B5AA0C" },
        { "sparse-lora:0.1", "D69E4D845ABE35C89FE2256E" },
        { "sparse-lora:0.05:ef", "6CA427544846BFF5EC0E4D40" },
        { "topk:0.1 > int8 > zstd", "CDAC68B0F53F04589A8626A0" },
    };

    [Theory]
    [MemberData(nameof(Pinned))]
    public void Each_codec_sends_the_bytes_it_sent_when_pinned(string spec, string expected)
    {
        var chain = Chain(spec);
        using var state = new MemoryClientStateStore();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var round = 1; round <= 3; round++)
        {
            using var message = Input(round);
            var context = Context(round, state: state, changes: message.Names);
            using var encoded = chain.Encode(message, context);
            foreach (var (name, t) in encoded)
            {
                hash.AppendData(Encoding.UTF8.GetBytes($"{name}|{t.dtype}|{string.Join(",", t.shape)}|"));
                hash.AppendData(name == ZstdCodec.BlobName ? Unzstd(t.bytes) : t.bytes);
            }
        }
        Assert.Equal(expected, Convert.ToHexString(hash.GetHashAndReset())[..24]); // 96 bits: enough to tell encodings apart
    }

    private static byte[] Unzstd(ReadOnlySpan<byte> frame)
    {
        using var stream = new DecompressionStream(new MemoryStream(frame.ToArray()));
        using var payload = new MemoryStream();
        stream.CopyTo(payload);
        return payload.ToArray();
    }
}
