using System.Buffers;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Compression;

/// <summary>
/// <c>int8</c>, <c>int4</c>, <c>int2</c> (optionally <c>:chunk</c>, default 256): unbiased stochastic quantisation
/// (<see cref="StochasticQuantizer"/>) to 127, 7 or 1 levels each side of zero, with one fp32 scale per chunk of
/// values. A tensor travels as its packed levels (int8: one byte each; int4/int2: two/four per byte, see
/// <see cref="LevelPacking"/>), <c>#q.scale</c> (fp32, one per chunk) and <c>#q.shape</c> (int64). The random draws
/// are seeded by the message's context (<see cref="CodecContext.StreamKey"/>), so a re-encoded message is identical.
/// </summary>
internal sealed class QuantizeCodec : ChainStage
{
    public const int DefaultChunk = 256;
    private const string ScalePart = "q.scale";
    private const string ShapePart = "q.shape";

    /// <summary>Values quantised per pass through the pack/unpack buffer: whole chunks, and whole bytes of packed codes.</summary>
    private const int Block = 1 << 16;

    private readonly int _bits;
    private readonly int _levels;
    private readonly int _chunk;

    public QuantizeCodec(string id, int bits, int chunk)
    {
        if (bits is not (8 or 4 or 2)) throw new ArgumentOutOfRangeException(nameof(bits));
        Id = id;
        _bits = bits;
        _levels = (1 << (bits - 1)) - 1;
        _chunk = chunk;
    }

    public override string Id { get; }

    public override StageRole Role => StageRole.Values;

    protected override ScalarType PrimaryType => _bits == 8 ? ScalarType.Int8 : ScalarType.Byte;

    protected override string? Marker => ShapePart;

    protected override IReadOnlyList<string> OtherParts => [ScalePart];

    protected override void EncodeTensor(string name, Tensor values, CodecContext context, NamedTensors output)
    {
        var n = values.numel();
        var x = HostTensor.Span<float>(values, name);
        var packed = HostTensor.Empty(_bits == 8 ? n : LevelPacking.PackedLength(n, _bits), PrimaryType);
        var scales = HostTensor.Empty(Chunks(n), ScalarType.Float32);
        try
        {
            var key = context.StreamKey(Id, name);
            var s = HostTensor.Span<float>(scales, name);
            if (_bits == 8)
                StochasticQuantizer.Quantize(x, _levels, _chunk, key, 0, HostTensor.Span<sbyte>(packed, name), s);
            else
                QuantizeAndPack(x, key, HostTensor.Span<byte>(packed, name), s);
        }
        catch
        {
            packed.Dispose();
            scales.Dispose();
            throw;
        }
        output.Add(name, packed);
        output.Add(PartName(name, ScalePart), scales);
        output.Add(PartName(name, ShapePart), HostTensor.ShapeTensor(values.shape));
    }

    protected override Tensor DecodeTensor(string name, Tensor primary, IReadOnlyDictionary<string, Tensor> parts, CodecContext context)
    {
        var shape = HostTensor.ReadShape(Part(name, parts, ShapePart), PartName(name, ShapePart));
        var n = HostTensor.Count(shape);
        var expected = _bits == 8 ? n : LevelPacking.PackedLength(n, _bits);
        if (primary.dim() != 1 || primary.numel() != expected)
            throw new InvalidDataException($"tensor '{name}': {primary.numel()} bytes of {_bits}-bit levels for shape {HostTensor.Describe(shape)}, which needs {expected}");
        var scalesTensor = Part(name, parts, ScalePart);
        if (scalesTensor.dtype != ScalarType.Float32 || scalesTensor.dim() != 1 || scalesTensor.numel() != Chunks(n))
            throw new InvalidDataException($"tensor '{name}': {Id} needs {Chunks(n)} fp32 chunk scales, got {scalesTensor.dtype} {HostTensor.Describe(scalesTensor.shape)}");
        var scales = HostTensor.Span<float>(scalesTensor, name);
        foreach (var scale in scales)
            if (!float.IsFinite(scale) || scale < 0) throw new InvalidDataException($"tensor '{name}': chunk scale {scale} is not a finite non-negative number");

        context.Budget.Take(n * sizeof(float), name);
        var result = empty(shape, ScalarType.Float32);
        try
        {
            var x = HostTensor.Span<float>(result, name);
            if (_bits == 8)
            {
                var q = HostTensor.Span<sbyte>(primary, name);
                if (q.Contains(sbyte.MinValue)) throw new InvalidDataException($"tensor '{name}': level −128 is outside int8's ±127");
                StochasticQuantizer.Dequantize(q, scales, _levels, _chunk, x);
            }
            else
            {
                UnpackAndDequantize(HostTensor.Span<byte>(primary, name), scales, x, name);
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private long Chunks(long n) => (n + _chunk - 1) / _chunk;

    /// <summary>Values per buffer pass: a multiple of the chunk (scales stay aligned) and of 8 (packed bytes stay whole).</summary>
    private int BlockLength => Math.Max(1, Block / _chunk) * _chunk * (_chunk % 8 == 0 ? 1 : 8);

    private void QuantizeAndPack(ReadOnlySpan<float> x, ulong key, Span<byte> packed, Span<float> scales)
    {
        var block = BlockLength;
        var buffer = ArrayPool<sbyte>.Shared.Rent(Math.Min(block, x.Length));
        try
        {
            for (var start = 0; start < x.Length; start += block)
            {
                var length = Math.Min(block, x.Length - start);
                var q = buffer.AsSpan(0, length);
                StochasticQuantizer.Quantize(x.Slice(start, length), _levels, _chunk, key, start, q, scales[(start / _chunk)..]);
                LevelPacking.Pack(q, _bits, packed[(int)((long)start * _bits / 8)..]);
            }
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(buffer);
        }
    }

    private void UnpackAndDequantize(ReadOnlySpan<byte> packed, ReadOnlySpan<float> scales, Span<float> x, string name)
    {
        var block = BlockLength;
        var buffer = ArrayPool<sbyte>.Shared.Rent(Math.Min(block, Math.Max(1, x.Length)));
        try
        {
            for (var start = 0; start < x.Length; start += block)
            {
                var length = Math.Min(block, x.Length - start);
                var q = buffer.AsSpan(0, length);
                var last = start + length == x.Length;
                if (!LevelPacking.Unpack(packed[(int)((long)start * _bits / 8)..], _bits, q, last))
                    throw new InvalidDataException($"tensor '{name}': an invalid {_bits}-bit code (or a set padding bit) near element {start}");
                StochasticQuantizer.Dequantize(q, scales[(start / _chunk)..], _levels, _chunk, x.Slice(start, length));
            }
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(buffer);
        }
    }
}
