using System.IO.Hashing;
using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Google.Protobuf;
using static TorchSharp.torch;

namespace Confer.Tests.Transport;

/// <summary>
/// Tensor frames: tensors survive <see cref="TensorFrameWriter"/> → protobuf bytes → <see cref="TensorFrameReader"/>
/// bit for bit in frames that continue each other and carry the tensor's CRC-32, each frame owns its bytes, and every
/// way a stream can be broken is caught and named.
/// </summary>
public class TensorFrameTests
{
    private static NamedTensors Sample()
    {
        var t = new NamedTensors();
        t.Add("a.lora_A.weight", arange(0, 3000, dtype: ScalarType.Float32).reshape(30, 100));
        t.Add("a.lora_B.weight", randn(100, 30, generator: new Generator(1)));
        t.Add("half", ones(7, dtype: ScalarType.Float16));
        t.Add("empty", zeros(0, 4));
        return t;
    }

    private static List<TensorFrame> Frames(NamedTensors t, int chunk = 1000) => TensorFrameWriter.Frames("update", t, chunk).ToList();

    [Fact]
    public void RoundTripIsExactAcrossManySmallFrames()
    {
        using var sent = Sample();
        var frames = Frames(sent);
        Assert.True(frames.Count > 20, "1000-byte frames split the 12 kB tensors");
        Assert.All(frames, f => Assert.True(f.Data.Length <= 1000));
        using var reader = new TensorFrameReader(1 << 20);
        foreach (var f in frames) reader.Add(f);
        reader.Complete(new Dictionary<string, int> { ["update"] = 4 });
        using var got = reader.Take("update");
        Assert.Equal(sent.Names, got.Names);
        foreach (var (name, t) in sent)
        {
            Assert.Equal(t.dtype, got[name].dtype);
            Assert.Equal(t.shape, got[name].shape);
            Assert.True(t.eq(got[name]).all().item<bool>(), name);
        }
    }

    [Fact]
    public void CorruptedBytesFailTheChecksum()
    {
        using var sent = Sample();
        var frames = Frames(sent);
        var bytes = frames[1].Data.ToByteArray();
        bytes[5] ^= 0x40;
        frames[1].Data = Google.Protobuf.ByteString.CopyFrom(bytes);
        var e = Assert.Throws<TensorStreamException>(() => Feed(frames));
        Assert.Equal("a.lora_A.weight", e.Tensor);
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void AStreamThatStopsMidTensorIsTruncated()
    {
        using var sent = Sample();
        var frames = Frames(sent).Take(5).ToList();
        var e = Assert.Throws<TensorStreamException>(() => Feed(frames, expected: 4));
        Assert.Equal("a.lora_A.weight", e.Tensor);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void MissingTensorsAreTruncation()
    {
        using var sent = Sample();
        var e = Assert.Throws<TensorStreamException>(() => Feed(Frames(sent), expected: 5));
        Assert.Contains("announced 5", e.Message);
    }

    [Fact]
    public void LostFramesAndOversizedShapesAreRefused()
    {
        using var sent = Sample();
        var frames = Frames(sent);
        frames.RemoveAt(2);
        Assert.Contains("lost or reordered", Assert.Throws<TensorStreamException>(() => Feed(frames)).Message);

        var huge = new TensorFrame { Section = "update", Name = "big", Dtype = "F32", Last = true };
        huge.Shape.AddRange([1L << 40, 1L << 30]);
        using var reader = new TensorFrameReader(1 << 20);
        var e = Assert.Throws<TensorStreamException>(() => reader.Add(huge));
        Assert.Equal("big", e.Tensor);
        Assert.Contains("exceeds", e.Message);
    }

    [Fact]
    public void UnknownDtypesAndDuplicateNamesAreRefused()
    {
        using var reader = new TensorFrameReader(1 << 20);
        var bad = new TensorFrame { Section = "update", Name = "x", Dtype = "Q4", Last = true };
        Assert.Contains("dtype 'Q4'", Assert.Throws<TensorStreamException>(() => reader.Add(bad)).Message);

        using var one = new NamedTensors();
        one.Add("x", ones(2));
        var frames = Frames(one).Concat(Frames(one)).ToList();
        Assert.Contains("sent twice", Assert.Throws<TensorStreamException>(() => Feed(frames)).Message);
    }

    [Fact]
    public void TensorsOfEveryKindComeBackBitForBitThroughSerialisedFrames()
    {
        var generator = new Generator(3);
        using var tensors = new NamedTensors();
        tensors.Add("chunked", randn([7, 13], generator: generator)); // 364 bytes: 6 frames of 64 bytes
        tensors.Add("transposed", randn([5, 3], generator: generator).t()); // not contiguous
        tensors.Add("bf16", randn([4, 4], generator: generator).to(ScalarType.BFloat16));
        tensors.Add("int64", arange(10, dtype: ScalarType.Int64));
        tensors.Add("empty", zeros([0, 4]));

        var wire = TensorFrameWriter.Frames(ProtocolInfo.UpdateSection, tensors, chunkBytes: 64)
            .Select(f => new UpdateMessage { Frame = f }.ToByteArray()).ToList();
        using var reader = new TensorFrameReader(1 << 20);
        foreach (var bytes in wire) reader.Add(UpdateMessage.Parser.ParseFrom(bytes).Frame);
        reader.Complete(new Dictionary<string, int> { [ProtocolInfo.UpdateSection] = tensors.Count });
        using var back = reader.Take(ProtocolInfo.UpdateSection);

        Assert.Equal(tensors.Names, back.Names);
        foreach (var (name, sent) in tensors)
        {
            var received = back[name];
            Assert.Equal(sent.dtype, received.dtype);
            Assert.Equal(sent.shape, received.shape);
            using var dense = sent.contiguous();
            Assert.Equal(dense.bytes.ToArray(), received.bytes.ToArray());
        }
    }

    [Fact]
    public void FramesContinueEachOtherAndTheLastCarriesTheTensorsCrc()
    {
        using var tensors = new NamedTensors();
        tensors.Add("w", arange(100, dtype: ScalarType.Float32));
        var frames = TensorFrameWriter.Frames(ProtocolInfo.UpdateSection, tensors, chunkBytes: 64).ToList();
        using var dense = tensors["w"].contiguous();
        var expected = dense.bytes.ToArray();

        Assert.Equal(7, frames.Count); // 400 bytes in 64-byte frames
        Assert.Equal(["w", "", "", "", "", "", ""], frames.Select(f => f.Name));
        Assert.Equal([0L, 64, 128, 192, 256, 320, 384], frames.Select(f => f.Offset));
        Assert.Equal([false, false, false, false, false, false, true], frames.Select(f => f.Last));
        Assert.Equal(expected, frames.SelectMany(f => f.Data.ToByteArray()));
        Assert.Equal(Crc32.HashToUInt32(expected), frames[^1].Crc32);
    }

    [Fact]
    public void AFrameKeepsItsBytesWhenTheTensorChangesAfterwards()
    {
        using var tensors = new NamedTensors();
        tensors.Add("w", ones([256]));
        var frames = TensorFrameWriter.Frames(ProtocolInfo.UpdateSection, tensors).ToList();
        tensors["w"].fill_(2f);

        using var reader = new TensorFrameReader(1 << 20);
        foreach (var f in frames) reader.Add(f);
        reader.Complete(new Dictionary<string, int> { [ProtocolInfo.UpdateSection] = 1 });
        using var back = reader.Take(ProtocolInfo.UpdateSection);
        Assert.True(back["w"].eq(1f).all().item<bool>());
    }

    private static void Feed(List<TensorFrame> frames, int expected = 4)
    {
        using var reader = new TensorFrameReader(1 << 20);
        foreach (var f in frames) reader.Add(f);
        reader.Complete(new Dictionary<string, int> { ["update"] = expected });
    }
}
