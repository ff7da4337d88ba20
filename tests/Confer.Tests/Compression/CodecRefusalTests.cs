using Confer.Compression;
using Confer.Federation;
using Confer.Models;
using static Confer.Tests.Compression.CodecKit;
using static TorchSharp.torch;

namespace Confer.Tests.Compression;

/// <summary>
/// A decoder trusts nothing it receives: every kind of malformed message — unknown codec, bad header, wrong length,
/// positions out of range or repeated, a scale that is not finite, parts missing or left over, a size beyond the
/// decode budget — is refused with an <see cref="InvalidDataException"/> naming the tensor and what is wrong, which
/// the codec stage turns into a refused update naming the client.
/// </summary>
public class CodecRefusalTests
{
    private const string W = "m.q_proj.lora_B.weight";
    private const string Blob = ZstdCodec.BlobName;

    private sealed record Case(string Spec, Action<NamedTensors> Tamper, string Reason);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["zstd: a tensor beside the message"] = new("zstd", m => m.Add("m.extra", ones(2)), "a zstd message is the one tensor 'zstd#message'"),
        ["zstd: message of the wrong dtype"] = new("zstd", m => m.Replace(Blob, ones(8)), "zstd sends a 1-D uint8 tensor"),
        ["zstd: corrupt frame"] = new("zstd", m => Corrupt(m[Blob].bytes), "corrupt zstd message"),
        ["zstd: truncated frame"] = new("zstd", m => m.Replace(Blob, m[Blob].narrow(0, 0, m[Blob].shape[0] / 2).clone()), "zstd message"),
        ["zstd: negative tensor count"] = new("zstd", m => m.Replace(Blob, Frame(Content(-1))), "a message of -1 tensors"),
        ["zstd: unknown dtype"] = new("zstd", m => m.Replace(Blob, Frame(Content(1, Entry(W, 99, [2], new byte[8])))), $"tensor '{W}': unknown dtype code 99"),
        ["zstd: rank above 8"] = new("zstd", m => m.Replace(Blob, Frame(Content(1, Entry(W, 0, new long[9], []), rank: 200))), "rank 200 is above 8"),
        ["zstd: negative dimension"] = new("zstd", m => m.Replace(Blob, Frame(Content(1, Entry(W, 0, [-4], [])))), "shape [-4] is out of range"),
        ["zstd: a name sent twice"] = new("zstd", m => m.Replace(Blob, Frame(Content(2, Entry(W, 0, [1], new byte[4]), Entry(W, 0, [1], new byte[4])))), $"tensor '{W}' is sent twice"),
        ["zstd: bytes missing"] = new("zstd", m => m.Replace(Blob, Frame(Content(1, Entry(W, 0, [3], new byte[8])))), "ends early (truncated)"),
        ["zstd: data after the last tensor"] = new("zstd", m => m.Replace(Blob, Frame([.. Content(1, Entry(W, 0, [1], new byte[4])), 7])), "data follows the last of its 1 tensors"),
        ["zstd: a name that is not UTF-8"] = new("zstd", m => m.Replace(Blob, Frame(Content(1, new byte[] { 2, 0, 0xC3, 0x28, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }))), "corrupt zstd message"),
        ["zstd: a shape beyond the decode budget"] = new("zstd", m => m.Replace(Blob, Frame(Content(1, Entry(W, 0, [int.MaxValue], [])))), "decoding it would need 8589934588 bytes"),
        ["int8: levels of the wrong length"] = new("int8", m => m.Replace(W, m[W].narrow(0, 0, 1000).clone()), "1000 bytes of 8-bit levels for shape [1001], which needs 1001"),
        ["int8: too few scales"] = new("int8", m => m.Replace(W + "#q.scale", ones(3)), "needs 4 fp32 chunk scales"),
        ["int8: NaN scale"] = new("int8", m => Set(m[W + "#q.scale"], 1, float.NaN), "chunk scale NaN is not a finite non-negative number"),
        ["int8: infinite scale"] = new("int8", m => Set(m[W + "#q.scale"], 0, float.PositiveInfinity), "is not a finite non-negative number"),
        ["int8: negative scale"] = new("int8", m => Set(m[W + "#q.scale"], 3, -1f), "chunk scale -1 is not a finite non-negative number"),
        ["int8: level -128"] = new("int8", m => m[W].bytes[17] = 0x80, "level −128 is outside int8's ±127"),
        ["int4: code 0"] = new("int4", m => m[W].bytes[5] &= 0xF0, "an invalid 4-bit code"),
        ["int4: padding bit set"] = new("int4", m => m[W].bytes[^1] |= 0x10, "a set padding bit"),
        ["int2: code 3"] = new("int2", m => m[W].bytes[9] |= 0x03, "an invalid 2-bit code"),
        ["int8: shape of the wrong dtype"] = new("int8", m => m.Replace(W + "#q.shape", tensor(new[] { 1001 })), "a shape must be 1-D int64"),
        ["int8: negative dimension"] = new("int8", m => m.Replace(W + "#q.shape", tensor(new[] { -1L })), "dimension -1 in shape [-1] is out of range"),
        ["int8: levels of the wrong dtype"] = new("int8", m => m.Replace(W, m[W].to(ScalarType.Byte)), "is Byte; int8 sends Int8"),
        ["int8: scale part missing"] = new("int8", m => m.Remove(W + "#q.scale"), "its 'q.scale' part is missing"),
        ["int8: marker part missing"] = new("int8", m => m.Remove(W + "#q.shape"), "has int8 parts but not its 'q.shape' part"),
        ["int8: primary missing"] = new("int8", m => m.Remove(W), $"'{W}#q.scale' is a int8 part of '{W}', which is missing"),
        ["int8: an fp32 tensor it did not code"] = new("int8", m => m.Add("m.extra", ones(4)), "tensor 'm.extra' is fp32, but int8 codes every fp32 tensor"),
        ["int8: a tensor left over"] = new("int8", m => m.Add("m.extra", ones(4, ScalarType.Int32)), "tensor 'm.extra' (Int32) is left after decoding"),
        ["topk: position out of range"] = new("topk:0.01", m => Set(m[W + "#topk.idx"], -1, 1_000_000), "is out of range [0, 1001)"),
        ["topk: repeated position"] = new("topk:0.01", m => Set(m[W + "#topk.idx"], 3, 0), "repeats or precedes the one before it (gap 0)"),
        ["topk: positions out of order"] = new("topk:0.01", m => Set(m[W + "#topk.idx"], 2, -5), "repeats or precedes the one before it (gap -5)"),
        ["topk: negative first position"] = new("topk:0.01", m => Set(m[W + "#topk.idx"], 0, -1), "position -1 is out of range"),
        ["topk: gaps of the wrong length"] = new("topk:0.01", m => m.Replace(W + "#topk.idx", m[W + "#topk.idx"].narrow(0, 0, 5).clone()), "values need as many int32 position gaps"),
        ["topk: bitmap population"] = new("topk:0.1", m => Set(m[W + "#topk.mask"], 0, 0xFF), "its bitmap marks"),
        ["topk: bitmap past the end"] = new("topk:0.1", m => Set(m[W + "#topk.mask"], -1, 0x80), "marks positions past the last of 1001"),
        ["topk: bitmap of the wrong length"] = new("topk:0.1", m => m.Replace(W + "#topk.mask", zeros(3, ScalarType.Byte)), "a position bitmap for 1001 entries is 126 uint8 bytes"),
        ["topk: both position forms"] = new("topk:0.1", m => m.Add(W + "#topk.idx", zeros(101, ScalarType.Int32)), "needs exactly one of its"),
        ["topk: more values than the fraction keeps"] = new("topk:0.1", m => m.Replace(W, zeros(102)), "102 kept values of 1001; topk:0.1 keeps 101"),
        ["sparse-lora: more values than the density keeps"] = new("sparse-lora:0.1", m => m.Replace(W, zeros(102)), "keeps 101"),
        ["topk: huge claimed shape"] = new("topk:0.1", m => m.Replace(W + "#topk.shape", tensor(new[] { 1L << 40 })), "is out of range"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Each_kind_of_malformed_message_is_refused_by_name(string caseName)
    {
        var c = Cases[caseName];
        var chain = Chain(c.Spec);
        // zstd gets a compressible tensor (a repeating pattern), so that it travels as a frame rather than stored.
        var values = c.Spec == "zstd" ? Enumerable.Range(0, 1001).Select(i => i % 10 * 0.5f).ToArray() : Random(1001, 5, -1, 1);
        using var message = Message((W, values, [1001]));
        using var encoded = chain.Encode(message, Context());
        c.Tamper(encoded);
        var e = Assert.Throws<InvalidDataException>(() => chain.Decode(encoded, Context()).Dispose());
        Assert.Contains("tensor '", e.Message, StringComparison.Ordinal);
        Assert.Contains(c.Reason, e.Message, StringComparison.Ordinal);

        // On the server the same refusal drops the update, naming its client.
        var stage = new CodecStage(new CodecPlan(c.Spec, "identity", [], []), 7);
        var update = new ClientUpdate("client_0", encoded, 10, new Dictionary<string, double>()) { Codec = chain.Id };
        var refused = Assert.Throws<InvalidClientUpdateException>(() => stage.DecodeUpdate(update, new ClientTask(1, "client_0", null, null, 4, 8)));
        Assert.Equal("client_0", refused.ClientId);
        Assert.Contains($"cannot be decoded with '{chain.Id}'", refused.Reason, StringComparison.Ordinal);
        Assert.Contains(c.Reason, refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_update_or_task_under_another_codec_id_is_refused_before_any_decoder_runs()
    {
        var stage = new CodecStage(new CodecPlan("int8 > zstd", "bf16", [], []), 7);
        using var adapter = Message(W, 1f, 2f);
        var update = new ClientUpdate("client_0", adapter, 10, new Dictionary<string, double>()) { Codec = "int9\n" };
        var e = Assert.Throws<InvalidClientUpdateException>(() => stage.DecodeUpdate(update, new ClientTask(1, "client_0", null, null, 4, 8)));
        Assert.Contains("encoded with codec 'int9?', but this run's uplink_codec is 'int8>zstd'", e.Reason, StringComparison.Ordinal);
        var task = new ClientTask(1, "client_0", adapter, null, 4, 8) { Codec = "fp16" };
        var t = Assert.Throws<InvalidDataException>(() => stage.DecodeTask(task));
        Assert.Contains("encoded with codec 'fp16', but this run's downlink_codec is 'bf16'", t.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("topk:0.5")]
    [InlineData("int8")]
    [InlineData("fp16")]
    public void Decoding_never_allocates_beyond_its_budget(string spec)
    {
        // 4 MiB of fp32 zeros: a zstd frame of a few hundred bytes that would decompress to 16 MB.
        using var message = Message(("w", new float[4 << 20], [4 << 20]));
        var chain = Chain(spec);
        using var encoded = chain.Encode(message, Context());
        var small = Context() with { Budget = new DecodeBudget(1 << 20) };
        var e = Assert.Throws<InvalidDataException>(() => chain.Decode(encoded, small).Dispose());
        Assert.Contains("tensor 'w': decoding it would need", e.Message, StringComparison.Ordinal);
        Assert.Contains("decode budget", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Sets element <paramref name="index"/> (negative: from the end) of a 1-D tensor.</summary>
    private static void Set(Tensor t, long index, double value)
    {
        using var element = t[index < 0 ? t.shape[0] + index : index];
        element.fill_(value);
    }

    private static void Corrupt(Span<byte> payload)
    {
        for (var i = 4; i < payload.Length; i += 3) payload[i] ^= 0x5A;
    }

    /// <summary>A zstd message's content: the tensor count, then the given entries as they are.</summary>
    private static byte[] Content(int count, params byte[][] entries) => [.. BitConverter.GetBytes(count), .. entries.SelectMany(e => e)];

    /// <summary>One tensor of a zstd message: name, dtype code, rank (the shape's unless given), dimensions, bytes.</summary>
    private static byte[] Entry(string name, byte code, long[] shape, byte[] data, int? rank = null)
    {
        var nameBytes = System.Text.Encoding.UTF8.GetBytes(name);
        return [.. BitConverter.GetBytes((ushort)nameBytes.Length), .. nameBytes, code, (byte)(rank ?? shape.Length), .. shape.SelectMany(BitConverter.GetBytes), .. data];
    }

    private static byte[] Content(int count, byte[] entry, int rank)
    {
        var nameLength = BitConverter.ToUInt16(entry);
        entry[2 + nameLength + 1] = (byte)rank;
        return Content(count, entry);
    }

    /// <summary>The content as one zstd frame in a uint8 tensor, as the codec sends it.</summary>
    private static Tensor Frame(byte[] content)
    {
        using var compressor = new ZstdSharp.Compressor(1);
        return tensor(compressor.Wrap(content).ToArray());
    }
}
