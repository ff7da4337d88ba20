using System.IO.Hashing;
using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Google.Protobuf;
using static TorchSharp.torch;

namespace Confer.Tests.Transport;

/// <summary>
/// Tensors survive <see cref="TensorFrameWriter"/> → protobuf bytes → <see cref="TensorFrameReader"/> bit for bit,
/// in frames that continue each other and carry the CRC-32 of the whole tensor, and each frame owns its bytes.
/// </summary>
public class TensorFrameRoundTripTests
{
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
}
