using Confer.Compression;
using Confer.Configuration;
using Confer.Models;
using static Confer.Tests.Compression.CodecKit;
using static TorchSharp.torch;

namespace Confer.Tests.Compression;

/// <summary>
/// Every codec and chain restores names, shapes and fp32 dtype; lossless ones bit for bit, lossy ones within their own
/// error bound; encoding is deterministic in its context; the chain grammar refuses what cannot work.
/// </summary>
public class CodecRoundTripTests
{
    /// <summary>A LoRA-like message: matrices, a vector, a scalar, an empty tensor, sizes that are not multiples of a chunk.</summary>
    private static NamedTensors Sample() => Message(
        ("m.q_proj.lora_A.weight", Random(8 * 300, 1, -0.1f, 0.1f), [8, 300]),
        ("m.q_proj.lora_B.weight", Random(300 * 8, 2, -0.01f, 0.01f), [300, 8]),
        ("m.head.bias", Random(33, 3, -1, 1), [33]),
        ("m.scalar", [0.75f], []),
        ("m.empty", [], [0, 4]));

    public static TheoryData<string> Specs => new()
    {
        "identity", "fp16", "bf16", "int8", "int4", "int2", "int8:64", "int4:100", "topk:0.1", "topk:0.01", "sparse-lora:0.2",
        "sparse-lora:0.2:ef", "zstd", "zstd:9", "fp16 > zstd", "int8>zstd", "topk:0.1 > int8 > zstd", "sparse-lora:0.05 > int4 > zstd",
        "topk:0.5 > bf16", "topk:0.02 > zstd", "int2 > zstd",
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void Every_chain_restores_the_message_within_its_error_bound(string spec)
    {
        var chain = Chain(spec);
        using var message = Sample();
        using var decoded = RoundTrip(chain, message, Context(3));
        Assert.Equal(message.Names, decoded.Names);
        foreach (var (name, t) in message)
        {
            var d = decoded[name];
            Assert.Equal(ScalarType.Float32, d.dtype);
            Assert.Equal(t.shape, d.shape);
            var error = t.numel() == 0 ? 0 : (d - t).abs().max().item<float>();
            var scale = t.numel() == 0 ? 0 : t.abs().max().item<float>();
            Assert.True(error <= Bound(chain, scale), $"{spec} {name}: max error {error} (largest magnitude {scale})");
        }
        if (chain.Lossless)
            foreach (var (name, t) in message) Assert.True(Same(t, decoded[name]), $"{spec} {name} is not bit-exact");
    }

    /// <summary>The largest error the chain may make on a tensor whose largest magnitude is <paramref name="scale"/>.</summary>
    private static float Bound(CodecChain chain, float scale)
    {
        var ids = chain.Stages.Select(s => s.Id.Split(':')[0]).ToList();
        if (ids.Contains("topk") || ids.Contains("sparse-lora")) return scale * 1.01f; // a dropped entry is off by itself
        if (ids.Contains("int2")) return scale * 1.0001f;
        if (ids.Contains("int4")) return scale / 7 * 1.0001f;
        if (ids.Contains("int8")) return scale / 127 * 1.0001f;
        if (ids.Contains("bf16")) return scale / 256;
        if (ids.Contains("fp16")) return scale / 2048;
        return 0;
    }

    [Fact]
    public void Topk_sends_the_kept_entries_exactly_and_zeroes_the_rest()
    {
        using var message = Sample();
        using var decoded = RoundTrip(Chain("topk:0.1"), message, Context());
        foreach (var (name, t) in message.Where(kv => kv.Value.numel() > 0))
        {
            var x = Values(t);
            var d = Values(decoded[name]);
            var kept = Enumerable.Range(0, x.Length).Where(i => d[i] != 0).ToList();
            Assert.Equal(TopKSelector.Keep(x.Length, 0.1), kept.Count);
            Assert.All(kept, i => Assert.Equal(x[i], d[i]));
            var smallestKept = kept.Min(i => MathF.Abs(x[i]));
            Assert.All(Enumerable.Range(0, x.Length).Except(kept), i => Assert.True(MathF.Abs(x[i]) <= smallestKept));
        }
    }

    [Fact]
    public void Topk_sends_positions_as_a_bitmap_or_as_gaps_whichever_is_smaller()
    {
        using var message = Message(("w", Random(4000, 9), [40, 100]));
        using var dense = Chain("topk:0.1").Encode(message, Context());
        Assert.Equal([500L], dense["w#topk.mask"].shape); // 4000 bits < 400 × 4 bytes
        Assert.False(dense.Contains("w#topk.idx"));
        using var sparse = Chain("topk:0.01").Encode(message, Context());
        Assert.Equal([40L], sparse["w#topk.idx"].shape); // 40 × 4 bytes < 500
        Assert.Equal(ScalarType.Int32, sparse["w#topk.idx"].dtype);
    }

    [Theory]
    [InlineData("int4 > zstd")]
    [InlineData("topk:0.1 > int8 > zstd")]
    [InlineData("sparse-lora:0.1 > int2")]
    public void Encoding_is_a_function_of_the_context(string spec)
    {
        using var message = Sample();
        var chain = Chain(spec);
        using var a = chain.Encode(message, Context(4));
        using var b = chain.Encode(message, Context(4));
        using var other = chain.Encode(message, Context(5));
        Assert.Equal(a.Names, b.Names);
        foreach (var (name, t) in a) Assert.True(Same(t, b[name]), name);
        Assert.Contains(a, kv => !Same(kv.Value, other[kv.Key]));
    }

    [Fact]
    public void Chains_shrink_a_lora_update_as_their_stages_promise()
    {
        using var message = Message(("w", Gaussian(100_000, 4, 0.003f), [100, 1000]));
        long Bytes(string spec)
        {
            using var encoded = Chain(spec).Encode(message, Context());
            return encoded.ByteCount;
        }
        var raw = message.ByteCount;
        Assert.Equal(raw / 2, Bytes("fp16"));
        Assert.InRange(Bytes("int8"), raw / 4, raw / 4 + raw / 200);
        Assert.InRange(Bytes("int4"), raw / 8, raw / 8 + raw / 200);
        Assert.InRange(Bytes("int2"), raw / 16, raw / 16 + raw / 200);
        Assert.True(Bytes("topk:0.1 > int8 > zstd") < raw / 15);
        Assert.True(Bytes("int8 > zstd") < Bytes("int8"));
    }

    [Fact]
    public void The_chain_id_is_its_stages_and_lossless_means_every_stage_is()
    {
        Assert.Equal("topk:0.1>int8>zstd", Chain(" topk:0.1 >  int8> zstd ").Id);
        Assert.Equal("identity", Chain("identity").Id);
        Assert.True(Chain("zstd").Lossless);
        Assert.True(Chain("identity").Lossless);
        Assert.False(Chain("int8 > zstd").Lossless);
        Assert.True(Chain("topk:0.1").KeepsClientState);
        Assert.False(Chain("sparse-lora:0.1").KeepsClientState);
        Assert.True(Chain("sparse-lora:0.1:ef").KeepsClientState);
    }

    [Theory]
    [InlineData("int9", "unknown codec 'int9'")]
    [InlineData("int8 > topk:0.1", "topk:0.1 cannot follow int8")]
    [InlineData("zstd > int8", "int8 cannot follow zstd")]
    [InlineData("int8 > int4", "int4 cannot follow int8")]
    [InlineData("identity > zstd", "identity (fp32 as trained) stands alone")]
    [InlineData("topk", "needs the kept fraction")]
    [InlineData("topk:1.5", "'1.5' is not a number in (0, 1]")]
    [InlineData("int8:3", "chunk size '3' is not an integer in [8,")]
    [InlineData("sparse-lora:0.1:yes", "argument 'yes' is not 'ef'")]
    [InlineData("fp16:2", "takes no arguments")]
    [InlineData("int8 >", "has an empty stage")]
    [InlineData("topk::0.1", "has an empty argument")]
    public void A_chain_that_cannot_work_is_refused_with_the_fix(string spec, string message)
    {
        var e = Assert.Throws<ConfigException>(() => Chain(spec));
        Assert.Contains("uplink_codec", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_registered_codec_can_be_a_stage_and_names_that_break_the_grammar_are_refused()
    {
        CodecRegistry.Register("test-negate", a => new Negate(a.AtMost(0).Spec));
        using var message = Message("x", 1f, -2f);
        using var decoded = RoundTrip(Chain("test-negate > zstd"), message, Context());
        Assert.Equal([1f, -2f], Values(decoded["x"]));
        Assert.Throws<ArgumentException>(() => CodecRegistry.Register("a>b", () => new IdentityCodec()));
        Assert.Throws<ArgumentException>(() => CodecRegistry.Register("zstd", () => new IdentityCodec()));
    }

    /// <summary>A lossless test stage: sends −x.</summary>
    private sealed class Negate(string id) : ITensorCodec
    {
        public string Id => id;

        public NamedTensors Encode(NamedTensors tensors, CodecContext context)
        {
            var copy = tensors.Clone();
            foreach (var (_, x) in copy) x.neg_();
            return copy;
        }

        public NamedTensors Decode(NamedTensors encoded, CodecContext context) => Encode(encoded, context);
    }
}
