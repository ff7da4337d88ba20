using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>
/// Rotary position embedding tables in the HF convention (rotate_half over the two halves of each head), precomputed
/// once for the model's maximum length from the inverse frequencies of its <see cref="RopeScaling"/>. They are not
/// parameters and not part of the checkpoint. With <c>dynamic</c> scaling a pass longer than the maximum gets tables
/// computed for its own length (NTK: the base grows with it), as transformers does for each forward call; transformers
/// also keeps the grown frequencies for later, shorter passes until one fits the original length again, which is not copied.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _cos;
    private readonly Tensor _sin;
    private readonly int _headDim;
    private readonly double _theta;
    private readonly RopeScaling? _scaling;

    public RotaryEmbedding(int headDim, int maxPositions, double theta, RopeScaling? scaling, Device? device)
    {
        _headDim = headDim;
        _theta = theta;
        _scaling = scaling;
        MaxPositions = maxPositions;
        using var scope = NewDisposeScope();
        var (cos, sin) = Tables(Frequencies(maxPositions), maxPositions, device ?? CPU);
        _cos = cos.DetachFromDisposeScope();
        _sin = sin.DetachFromDisposeScope();
    }

    public int MaxPositions { get; }

    /// <summary>The inverse frequencies θᵢ for a pass over <paramref name="length"/> positions.</summary>
    public double[] Frequencies(long length) =>
        _scaling?.Frequencies(_headDim, _theta, MaxPositions, length) ?? RopeScaling.DefaultFrequencies(_headDim, _theta);

    /// <summary>cos and sin of position × θᵢ, [positions, headDim] (each frequency twice, for rotate_half), fp32.</summary>
    private static (Tensor Cos, Tensor Sin) Tables(double[] frequencies, long positions, Device device)
    {
        var freqs = outer(arange(positions, dtype: ScalarType.Float64), tensor(frequencies, dtype: ScalarType.Float64));
        var emb = cat([freqs, freqs], -1);
        return (emb.cos().to_type(ScalarType.Float32).to(device), emb.sin().to_type(ScalarType.Float32).to(device));
    }

    /// <summary>
    /// Applies RoPE to q or k, [batch, heads, seq, headDim]: at positions start..start+seq, or at per-sequence
    /// <paramref name="positions"/> [batch, seq] when given (left-padded batches).
    /// </summary>
    public Tensor Apply(Tensor x, long start, Tensor? positions = null)
    {
        var seq = x.shape[2];
        var (cosTable, sinTable) = (_cos, _sin);
        if (start + seq > MaxPositions)
        {
            // transformers sizes a dynamic pass by its largest position id (left padding makes some rows shorter).
            long length = positions is null ? start + seq : positions.max().item<long>() + 1;
            if (_scaling?.IsDynamic != true)
                throw new InvalidOperationException($"Sequence position {start + seq} exceeds max_position_embeddings {MaxPositions}.");
            // Temporaries of the caller's per-step dispose scope, like every other tensor of the pass.
            (cosTable, sinTable) = Tables(Frequencies(length), length, _cos.device);
        }
        Tensor cos, sin;
        if (positions is null)
        {
            cos = cosTable.narrow(0, start, seq);
            sin = sinTable.narrow(0, start, seq);
        }
        else
        {
            var flat = positions.reshape(-1).to(cosTable.device);
            cos = cosTable.index_select(0, flat).view(positions.shape[0], 1, seq, -1);
            sin = sinTable.index_select(0, flat).view(positions.shape[0], 1, seq, -1);
        }
        cos = cos.to_type(x.dtype);
        sin = sin.to_type(x.dtype);
        return x * cos + RotateHalf(x) * sin;
    }

    private static Tensor RotateHalf(Tensor x)
    {
        var half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        return cat([x2.neg(), x1], -1);
    }

    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
    }
}
