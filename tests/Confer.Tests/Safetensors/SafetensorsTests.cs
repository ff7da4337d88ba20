using System.Buffers.Binary;
using System.Text;
using Confer.Models;
using TorchSharp;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void RoundTripIsBitwiseForEveryDtypeAndKeepsMetadata()
    {
        var gen = new Generator(7);
        using var tensors = new NamedTensors();
        var w = randn([3, 5], generator: gen);
        tensors.Add("layer.f32", w);
        tensors.Add("layer.f16", w.to(ScalarType.Float16));
        tensors.Add("layer.bf16", w.to(ScalarType.BFloat16));
        tensors.Add("f64", randn([2], dtype: ScalarType.Float64, generator: gen));
        tensors.Add("i64", tensor(new long[] { long.MinValue, -1, 0, long.MaxValue }));
        tensors.Add("i32", tensor(new[] { int.MinValue, 7 }));
        tensors.Add("i16", tensor(new short[] { -3, 3 }));
        tensors.Add("i8", tensor(new sbyte[] { -128, 127 }));
        tensors.Add("u8", tensor(new byte[] { 0, 200, 255 }));
        tensors.Add("mask", tensor(new[] { true, false, true }));
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "quote \" and \\ and é" };
        string path = _dir.File("all.safetensors");

        SafetensorsFile.Save(path, tensors, metadata);
        using var loaded = SafetensorsFile.Load(path);

        Assert.Equal(tensors.Names.Order(StringComparer.Ordinal), loaded.Names.Order(StringComparer.Ordinal));
        foreach (var (name, expected) in tensors)
        {
            var actual = loaded[name];
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.bytes.SequenceEqual(actual.bytes), $"bytes differ for {name}");
        }
        Assert.Equal(ScalarType.Byte, loaded["u8"].dtype); // unsigned stays unsigned
        Assert.Equal(metadata, SafetensorsFile.ReadMetadata(path));
    }

    [Fact]
    public void WritesTheSameBytesAsPythonSafetensors()
    {
        // safetensors.torch.save_file({"attn.0": torch.arange(6.).view(1, 2, 3)}) writes a 64-byte compact header
        // (already a multiple of 8, so no padding) followed by the raw float32 data.
        using var tensors = new NamedTensors();
        tensors.Add("attn.0", arange(6f).view(1, 2, 3));
        string path = _dir.File("attn.safetensors");

        SafetensorsFile.Save(path, tensors);

        var expected = Expected("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", Floats(0, 1, 2, 3, 4, 5));
        Assert.Equal(64, expected.Length - 8 - 24);
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public void OrdersByDtypeAlignmentThenNameAndPadsTheHeaderWithSpacesLikePython()
    {
        // The reference writer sorts by dtype (I64 > F32 > F16 here) descending, then by name, puts __metadata__
        // first and pads the header with spaces to a multiple of 8.
        using var tensors = new NamedTensors();
        tensors.Add("z.half", tensor(new float[] { 1, 2 }).to(ScalarType.Float16));
        tensors.Add("b", tensor(new float[] { 1 }));
        tensors.Add("a", tensor(new float[] { 2 }));
        tensors.Add("step", tensor(new long[] { 5 }));
        string path = _dir.File("mixed.safetensors");

        SafetensorsFile.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });

        string json = "{\"__metadata__\":{\"format\":\"pt\"}," +
                      "\"step\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}," +
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}," +
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}," +
                      "\"z.half\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]}}";
        byte[] data = [.. BitConverter.GetBytes(5L), .. Floats(2), .. Floats(1), 0x00, 0x3C, 0x00, 0x40];
        Assert.Equal(Expected(json, data), File.ReadAllBytes(path));
        Assert.Equal(["step", "a", "b", "z.half"], SafetensorsFile.ReadHeader(path).Tensors.Select(t => t.Name));
    }

    [Fact]
    public void EmptyTensorsScalarsAndEmptyFilesRoundTrip()
    {
        using var tensors = new NamedTensors();
        tensors.Add("none", zeros(0));
        tensors.Add("wide.none", zeros(2, 0, 3));
        tensors.Add("scalar", tensor(3.5f));
        string path = _dir.File("edge.safetensors");

        SafetensorsFile.Save(path, tensors);
        using var loaded = SafetensorsFile.Load(path);

        Assert.Equal(new long[] { 0 }, loaded["none"].shape);
        Assert.Equal(new long[] { 2, 0, 3 }, loaded["wide.none"].shape);
        Assert.Empty(loaded["scalar"].shape);
        Assert.Equal(3.5f, loaded["scalar"].item<float>());

        string emptyPath = _dir.File("empty.safetensors");
        using (var none = new NamedTensors()) SafetensorsFile.Save(emptyPath, none);
        Assert.Equal(Expected("{}", []), File.ReadAllBytes(emptyPath)); // "{}" + six spaces, as Python writes it
        using var empty = SafetensorsFile.Load(emptyPath);
        Assert.Empty(empty);
    }

    [Fact]
    public void TruncatedFileIsRejectedNamingFileAndTensor()
    {
        string path = SaveTwoTensors();
        byte[] full = File.ReadAllBytes(path);

        File.WriteAllBytes(path, full[..^3]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'b'", e.Message);
        Assert.Contains("truncated", e.Message);

        File.WriteAllBytes(path, full[..20]); // cut inside the JSON header
        e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.ReadHeader(path));
        Assert.Contains("truncated", e.Message);

        File.WriteAllBytes(path, full[..5]);
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.Load(path));
    }

    [Fact]
    public void CorruptHeaderIsRejected()
    {
        string path = SaveTwoTensors();
        byte[] bytes = File.ReadAllBytes(path);
        bytes[8 + 1] = (byte)'}'; // {"a"... becomes {}a"...: not JSON
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("JSON", e.Message);

        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("limit", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Load(path)).Message);

        WriteRaw(path, "[1,2]", []);
        Assert.Contains("not a JSON object", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Load(path)).Message);
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24, "needs 24 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "not contiguous")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "not contiguous")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "trailing bytes")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative")]
    [InlineData("{\"w\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "no TorchSharp equivalent")]
    [InlineData("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "unknown dtype")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets")]
    public void InconsistentHeadersAreRejectedNamingTheTensor(string header, int dataBytes, string problem)
    {
        string path = _dir.File("bad.safetensors");
        WriteRaw(path, header, new byte[dataBytes]);

        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.ReadHeader(path));

        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
        if (problem != "trailing bytes") Assert.Matches("tensor '[wv]'", e.Message);
    }

    [Fact]
    public void ChunkedByteIoMatchesWholeTensorIo()
    {
        // Tensors over 2 GiB are read and written through chunks; a tiny chunk size exercises that path here.
        var t = arange(1000, dtype: ScalarType.Float32).view(10, 100);
        string path = _dir.File("raw.bin");
        using (var stream = File.Create(path)) TensorBytes.Write(stream, t, chunkBytes: 12);
        Assert.Equal(t.bytes.ToArray(), File.ReadAllBytes(path));

        var back = empty(10, 100);
        using (var handle = File.OpenHandle(path)) TensorBytes.Read(handle, back, 0, path, chunkBytes: 12);
        Assert.True(t.bytes.SequenceEqual(back.bytes));
    }

    [Fact]
    public void MissingFileGivesAClearError() =>
        Assert.Contains("does not exist", Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Load(_dir.File("nope.safetensors"))).Message);

    private string SaveTwoTensors()
    {
        using var tensors = new NamedTensors();
        tensors.Add("a", ones(4));
        tensors.Add("b", ones(2, 2));
        string path = _dir.File("two.safetensors");
        SafetensorsFile.Save(path, tensors);
        return path;
    }

    private static byte[] Floats(params float[] values) => [.. values.SelectMany(BitConverter.GetBytes)];

    /// <summary>8-byte LE length, the JSON padded with spaces to a multiple of 8, then the data.</summary>
    private static byte[] Expected(string json, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(json.PadRight(json.Length + (8 - json.Length % 8) % 8));
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        return [.. prefix, .. header, .. data];
    }

    private static void WriteRaw(string path, string json, byte[] data) => File.WriteAllBytes(path, Expected(json, data));
}
