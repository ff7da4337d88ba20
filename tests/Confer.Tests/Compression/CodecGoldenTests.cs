using System.Security.Cryptography;
using System.Text;
using Confer.Compression;
using Confer.Federation.Clients;
using Confer.Models;
using ZstdSharp;
using static Confer.Tests.Compression.CodecKit;
using static TorchSharp.torch;

namespace Confer.Tests.Compression;

/// <summary>
/// Pins what each codec sends on a fixed input, so a faster kernel cannot silently change the wire: the SHA-256 of
/// every encoded tensor (name, dtype, shape, bytes) over three rounds, its first 96 bits, of one client with error feedback. A zstd stage
/// is pinned by the payload its frame holds, not by the frame: the format fixes what is compressed, while how zstd
/// splits a frame into blocks is zstd's choice, and any conforming decoder reads either. (The hashes of the zstd chains
/// were re-pinned when the stage moved from streaming to one-call compression: the payload hashed before included
/// the frame's length; <see cref="A_zstd_frame_holds_the_documented_layout_of_what_the_stages_before_it_sent"/>
/// checks the payload against the format, independently of the codec's code.)
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
        { "zstd", "1E5D5F10B9C630312FB2B9B9" },
        { "int8 > zstd", "A97096DDE03B9EA1B4D646EF" },
        { "topk:0.1", "EAD6DD63547EFA89652985BC" },
        { "topk:0.01", "AE7ACC53969BB53C96B5AA0C" },
        { "sparse-lora:0.1", "D69E4D845ABE35C89FE2256E" },
        { "sparse-lora:0.05:ef", "6CA427544846BFF5EC0E4D40" },
        { "topk:0.1 > int8 > zstd", "A110038155C3EBAF75E0B3CD" },
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
            using (var untouched = Input(round))
                Assert.All(untouched, kv => Assert.True(Same(kv.Value, message[kv.Key]), $"{spec} changed its input '{kv.Key}' in round {round}"));
            foreach (var (name, t) in encoded)
            {
                // A zstd frame's length is zstd's choice too; what it holds is the format's.
                var shape = name == ZstdCodec.BlobName ? "frame" : string.Join(",", t.shape);
                hash.AppendData(Encoding.UTF8.GetBytes($"{name}|{t.dtype}|{shape}|"));
                hash.AppendData(name == ZstdCodec.BlobName ? Unzstd(t.bytes) : t.bytes);
            }
        }
        Assert.Equal(expected, Convert.ToHexString(hash.GetHashAndReset())[..24]); // 96 bits: enough to tell encodings apart
    }

    /// <summary>
    /// Oracle for the zstd stage's payload, written from its documented layout: the tensor count (int32 LE), then per
    /// tensor its name (u16 length + UTF-8), dtype code, rank, dimensions (int64 LE) and raw bytes — of exactly what
    /// the stages before it sent.
    /// </summary>
    [Theory]
    [InlineData("int8 > zstd", "int8")]
    [InlineData("topk:0.1 > int8 > zstd", "topk:0.1 > int8")]
    [InlineData("zstd", null)]
    public void A_zstd_frame_holds_the_documented_layout_of_what_the_stages_before_it_sent(string spec, string? before)
    {
        ScalarType[] codes = [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float64, ScalarType.Int64, ScalarType.Int32,
            ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool];
        using var message = Input(1);
        using var state = new MemoryClientStateStore();
        using var innerState = new MemoryClientStateStore();
        using var encoded = Chain(spec).Encode(message, Context(1, state: state, changes: message.Names));
        using var inner = before is null ? message.Clone() : Chain(before).Encode(message, Context(1, state: innerState, changes: message.Names));
        using var layout = new MemoryStream();
        var writer = new BinaryWriter(layout);
        writer.Write(inner.Count);
        foreach (var (name, t) in inner)
        {
            var utf8 = Encoding.UTF8.GetBytes(name);
            writer.Write((ushort)utf8.Length);
            writer.Write(utf8);
            writer.Write((byte)Array.IndexOf(codes, t.dtype));
            writer.Write((byte)t.dim());
            foreach (var d in t.shape) writer.Write(d);
            writer.Write(t.bytes);
        }
        writer.Flush();
        Assert.Equal(layout.ToArray(), Unzstd(Assert.Single(encoded).Value.bytes));
    }

    private static byte[] Unzstd(ReadOnlySpan<byte> frame)
    {
        using var stream = new DecompressionStream(new MemoryStream(frame.ToArray()));
        using var payload = new MemoryStream();
        stream.CopyTo(payload);
        return payload.ToArray();
    }
}
