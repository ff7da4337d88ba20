using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>Small fp32 building blocks shared by the strategies. Callers own a dispose scope around them.</summary>
internal static class TensorMath
{
    /// <summary>The tensor as fp32, without a copy when it already is.</summary>
    public static Tensor Fp32(Tensor t) => t.dtype == ScalarType.Float32 ? t : t.to(ScalarType.Float32);

    /// <summary>
    /// Σ w_k t_k accumulated in the given (client) order. The first term is w_0·t_0, so one client with weight 1
    /// comes back bitwise equal to its input.
    /// </summary>
    public static Tensor WeightedSum(IReadOnlyList<Tensor> tensors, IReadOnlyList<double> weights)
    {
        var sum = Fp32(tensors[0]).mul(weights[0]);
        for (var k = 1; k < tensors.Count; k++) sum.add_(Fp32(tensors[k]), alpha: weights[k]);
        return sum;
    }

    /// <summary>
    /// <see cref="WeightedSum"/> for every tensor of whole adapters at once, bit for bit: each client's tensors as one
    /// flat fp32 buffer — the adapter's own <see cref="NamedTensors.Flat"/> when it was packed in this order (as the
    /// server packs every admitted update), else a copy — combined with the same w_0·t_0 then add_(t_k, alpha: w_k)
    /// sequence, element by element, so every value sees the same operations in the same order. An update of a
    /// 7-projection LoRA model is ~100 small tensors; per-tensor kernels spent most of an aggregation in per-call
    /// overhead, whereas here it is one kernel per client and one copy-out per tensor.
    /// </summary>
    /// <param name="adapters">The clients' adapters, each holding every name in <paramref name="names"/> with the same shape.</param>
    /// <param name="names">The tensors to average.</param>
    /// <param name="weights">w_k per adapter, in the accumulation order.</param>
    /// <returns>A fresh tensor per name, each owning its storage.</returns>
    public static Dictionary<string, Tensor> WeightedSumFlat(IReadOnlyList<NamedTensors> adapters, IReadOnlyList<string> names, IReadOnlyList<double> weights)
    {
        using var sum = empty(names.Sum(n => adapters[0][n].numel()), ScalarType.Float32);
        WeightedSumInto(sum, adapters, names, weights);
        var result = new Dictionary<string, Tensor>(names.Count, StringComparer.Ordinal);
        long offset = 0;
        foreach (var name in names)
        {
            var shape = adapters[0][name].shape;
            var count = shape.Aggregate(1L, (a, b) => a * b);
            result[name] = sum.narrow(0, offset, count).view(shape).clone();
            offset += count;
        }
        return result;
    }

    /// <summary>
    /// Writes <see cref="WeightedSumFlat"/>'s sum, bit for bit, into <paramref name="destination"/>: a flat fp32 vector
    /// of the named tensors' total size that aliases none of the adapters (e.g. a packed global adapter's buffer, which
    /// then needs no per-tensor copy-out).
    /// </summary>
    public static void WeightedSumInto(Tensor destination, IReadOnlyList<NamedTensors> adapters, IReadOnlyList<string> names, IReadOnlyList<double> weights)
    {
        for (var k = 0; k < adapters.Count; k++)
        {
            var flat = FlatOf(adapters[k], names, out var owned);
            if (k == 0) destination.copy_(flat).mul_(weights[0]);
            else destination.add_(flat, alpha: weights[k]);
            if (owned) flat.Dispose();
        }
    }

    /// <summary>The adapter's tensors named <paramref name="names"/>, in that order, as one flat fp32 vector; <paramref name="owned"/> when it is a new copy.</summary>
    private static Tensor FlatOf(NamedTensors adapter, IReadOnlyList<string> names, out bool owned)
    {
        owned = !(adapter.Flat is not null && adapter.Names.SequenceEqual(names, StringComparer.Ordinal));
        return owned ? cat(names.Select(n => Fp32(adapter[n]).reshape(-1)).ToList(), 0) : adapter.Flat!;
    }

    /// <summary>‖B·A‖_F computed through r × r Gram matrices: ‖BA‖²_F = Σ (BᵀB) ⊙ (AAᵀ), never forming d_out × d_in.</summary>
    public static double ProductNorm(Tensor b, Tensor a)
    {
        var b32 = Fp32(b).to(ScalarType.Float64);
        var a32 = Fp32(a).to(ScalarType.Float64);
        var squared = b32.t().matmul(b32).mul(a32.matmul(a32.t())).sum().item<double>();
        return Math.Sqrt(Math.Max(0, squared));
    }

    /// <summary>The first <paramref name="rank"/> rows of <paramref name="a"/>, zero-padded when it has fewer; a copy.</summary>
    public static Tensor Rows(Tensor a, int rank)
    {
        var keep = Math.Min(rank, (int)a.shape[0]);
        var rows = a.narrow(0, 0, keep);
        return keep == rank ? rows.clone() : cat([rows, zeros(rank - keep, a.shape[1], dtype: a.dtype)], 0);
    }

    /// <summary>The first <paramref name="rank"/> columns of <paramref name="b"/>, zero-padded when it has fewer; a copy.</summary>
    public static Tensor Columns(Tensor b, int rank)
    {
        var keep = Math.Min(rank, (int)b.shape[1]);
        var columns = b.narrow(1, 0, keep);
        return keep == rank ? columns.clone() : cat([columns, zeros(b.shape[0], rank - keep, dtype: b.dtype)], 1);
    }

    /// <summary>
    /// Σ w_k pad(t_k) where each part is padded along <paramref name="dim"/> with <paramref name="global"/>'s own
    /// values beyond its size (HetLoRA, FFA-LoRA with mixed ranks): a client that did not hold a rank component
    /// "returns it unchanged", so components nobody trained keep their value instead of decaying towards zero.
    /// With weights summing to 1 this is global + Σ w_k (t_k − global[:r_k]) on the components each client holds.
    /// </summary>
    public static Tensor WeightedSumPaddedWithGlobal(IReadOnlyList<Tensor> parts, IReadOnlyList<double> weights, Tensor global, int dim)
    {
        var full = global.shape[dim];
        var sum = zeros_like(global, dtype: ScalarType.Float32);
        for (var k = 0; k < parts.Count; k++)
        {
            var held = parts[k].shape[dim];
            sum.narrow(dim, 0, held).add_(Fp32(parts[k]), alpha: weights[k]);
            if (held < full) sum.narrow(dim, held, full - held).add_(Fp32(global).narrow(dim, held, full - held), alpha: weights[k]);
        }
        return sum;
    }
}
