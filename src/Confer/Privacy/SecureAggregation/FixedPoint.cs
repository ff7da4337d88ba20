using static TorchSharp.torch;

namespace Confer.Privacy.SecureAggregation;

/// <summary>
/// Range quantisation into Z/2^32, the arithmetic secure aggregation sums in (algorithms.md §7.3 step 4, Flower's
/// <c>quantization.py</c>): a value v becomes Q(v) = round((clamp(v, −c, c) + c) · T / 2c) ∈ [0, T], and the sum of k
/// such words, read back as an integer z (exact while k·T &lt; 2^32), decodes to Σv ≈ z · 2c/T − k·c. Each value is off
/// by at most c/T (round to nearest), so a sum of k values by at most k·c/T. Values beyond ±c are clamped and counted.
/// Encoding and decoding run as vectorised tensor and span operations, never a managed loop per element.
/// </summary>
public sealed record FixedPoint(double ClipRange, uint TargetRange)
{
    /// <summary>The finest encoding that k contributors can sum without wrapping: T = ⌊(2^32 − 1) / k⌋.</summary>
    public static FixedPoint ForContributors(double clipRange, int contributors)
    {
        if (contributors < 1) throw new ArgumentOutOfRangeException(nameof(contributors), contributors, "At least one contributor.");
        return new FixedPoint(clipRange, (uint)(uint.MaxValue / (ulong)contributors));
    }

    /// <summary>Largest error of one decoded value: c / T.</summary>
    public double Resolution => ClipRange / TargetRange;

    /// <summary>Q(v) for every element of <paramref name="values"/> (any float dtype), and how many were clamped to ±c.</summary>
    public (uint[] Words, long Clamped) Encode(Tensor values)
    {
        CheckRange();
        using var scope = NewDisposeScope();
        var v = values.to(ScalarType.Float64).flatten();
        var clamped = v.abs().gt(ClipRange).sum().item<long>();
        var q = v.clamp(-ClipRange, ClipRange).add(ClipRange).mul(TargetRange / (2 * ClipRange)).round().to(ScalarType.Int64).contiguous();
        var words = new uint[q.numel()];
        System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<long, uint>(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(q.bytes), words);
        return (words, clamped);
    }

    /// <summary>Σv of <paramref name="contributors"/> encoded vectors from their modular sum, as float64 of the given shape.</summary>
    public Tensor DecodeSum(ReadOnlySpan<uint> sum, int contributors, long[] shape)
    {
        CheckRange();
        if ((ulong)contributors * TargetRange > uint.MaxValue)
            throw new ArgumentException($"{contributors} contributors of target range {TargetRange} overflow 2^32; the sum cannot be decoded.");
        var asDouble = new double[sum.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<uint, double>(sum, asDouble);
        using var scope = NewDisposeScope();
        return tensor(asDouble, ScalarType.Float64).mul(2 * ClipRange / TargetRange).sub(contributors * ClipRange).reshape(shape).MoveToOuterDisposeScope();
    }

    private void CheckRange()
    {
        if (!(ClipRange > 0) || !double.IsFinite(ClipRange)) throw new ArgumentOutOfRangeException(nameof(ClipRange), ClipRange, "The clip range must be a positive number.");
        if (TargetRange < 1) throw new ArgumentOutOfRangeException(nameof(TargetRange), TargetRange, "The target range must be ≥ 1.");
    }
}
