using System.Buffers.Binary;
using static TorchSharp.torch;

namespace Confer.Models.Llama2c;

/// <summary>
/// Sequential reader of the fp32 and Q8_0 tensor blocks in a llama2.c checkpoint. Each read lands straight in a new
/// tensor's storage; Q8_0 blocks (int8 values for the whole tensor, then one fp32 scale per group) are dequantised
/// as <c>value × scale</c> in fp32, exactly as llama2.c does.
/// </summary>
internal sealed class Llama2cRawReader : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _path;

    public Llama2cRawReader(string path)
    {
        _path = path;
        _stream = File.Exists(path)
            ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan)
            : throw new FileNotFoundException($"llama2.c checkpoint '{path}' does not exist.", path);
    }

    public long Length => _stream.Length;

    public long Position
    {
        get => _stream.Position;
        set => _stream.Position = value;
    }

    public int ReadInt32()
    {
        Span<byte> b = stackalloc byte[4];
        Fill(b, "header");
        return BinaryPrimitives.ReadInt32LittleEndian(b);
    }

    public byte ReadByte()
    {
        Span<byte> b = stackalloc byte[1];
        Fill(b, "header");
        return b[0];
    }

    public Tensor ReadFloat32(string what, params long[] shape)
    {
        var t = empty(shape, ScalarType.Float32);
        Fill(t.bytes, what);
        return t;
    }

    public Tensor ReadQ80(string what, int groupSize, params long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count % groupSize != 0)
            throw new InvalidDataException($"llama2.c checkpoint '{_path}': {what} has {count} values, not a multiple of the group size {groupSize}.");
        using var scope = NewDisposeScope();
        var values = empty(count, ScalarType.Int8);
        Fill(values.bytes, what);
        var scales = ReadFloat32(what + " scales", count / groupSize, 1);
        return (values.to(ScalarType.Float32).view(-1, groupSize) * scales).view(shape).MoveToOuterDisposeScope();
    }

    public void Skip(long bytes) => _stream.Seek(bytes, SeekOrigin.Current);

    public void Dispose() => _stream.Dispose();

    private void Fill(Span<byte> buffer, string what)
    {
        long at = _stream.Position;
        try
        {
            _stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"llama2.c checkpoint '{_path}' ends inside {what} (at byte {at}); the file is truncated.", e);
        }
    }
}
