using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>
/// Rotary position embedding tables in the HF convention (rotate_half over the two halves of each head), precomputed
/// once for the model's maximum length. They are not parameters and not part of the checkpoint.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _cos;
    private readonly Tensor _sin;

    public RotaryEmbedding(int headDim, int maxPositions, double theta, Device? device)
    {
        using var scope = NewDisposeScope();
        var invFreq = 1.0 / pow(theta, arange(0, headDim, 2, dtype: ScalarType.Float64) / headDim);
        var positions = arange(maxPositions, dtype: ScalarType.Float64);
        var freqs = outer(positions, invFreq);
        var emb = cat([freqs, freqs], -1);
        _cos = emb.cos().to_type(ScalarType.Float32).to(device ?? CPU).DetachFromDisposeScope();
        _sin = emb.sin().to_type(ScalarType.Float32).to(device ?? CPU).DetachFromDisposeScope();
    }

    public int MaxPositions => (int)_cos.shape[0];

    /// <summary>
    /// Applies RoPE to q or k, [batch, heads, seq, headDim]: at positions start..start+seq, or at per-sequence
    /// <paramref name="positions"/> [batch, seq] when given (left-padded batches).
    /// </summary>
    public Tensor Apply(Tensor x, long start, Tensor? positions = null)
    {
        var seq = x.shape[2];
        if (start + seq > MaxPositions)
            throw new InvalidOperationException($"Sequence position {start + seq} exceeds max_position_embeddings {MaxPositions}.");
        Tensor cos, sin;
        if (positions is null)
        {
            cos = _cos.narrow(0, start, seq);
            sin = _sin.narrow(0, start, seq);
        }
        else
        {
            var flat = positions.reshape(-1).to(_cos.device);
            cos = _cos.index_select(0, flat).view(positions.shape[0], 1, seq, -1);
            sin = _sin.index_select(0, flat).view(positions.shape[0], 1, seq, -1);
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
