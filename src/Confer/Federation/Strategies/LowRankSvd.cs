using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// SVD of W = B·A without forming or decomposing the dense d_out × d_in matrix: with reduced QRs B = Q_b R_b and
/// Aᵀ = Q_a R_a, W = Q_b (R_b R_aᵀ) Q_aᵀ, so the SVD of the small R × R core gives W's exact singular triplets in
/// O(R²(d_in + d_out)) instead of O(d³). Computed in fp64.
/// </summary>
internal static class LowRankSvd
{
    /// <summary>U (d_out × k), Σ (k, descending) and Vᵀ (k × d_in) of B·A, k = min(R, d_out, d_in).</summary>
    public static (Tensor U, Tensor S, Tensor Vh) Of(Tensor b, Tensor a)
    {
        var (qb, rb) = linalg.qr(b.to(ScalarType.Float64));
        var (qa, ra) = linalg.qr(a.to(ScalarType.Float64).t());
        var (u, s, vh) = linalg.svd(rb.matmul(ra.t()), fullMatrices: false);
        return (qb.matmul(u), s, vh.matmul(qa.t()));
    }
}
