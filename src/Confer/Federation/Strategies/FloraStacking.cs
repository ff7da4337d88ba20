using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// FLoRA's noise-free aggregation (Wang et al., arXiv 2409.05976; <c>ATP-1010/FederatedLLM</c>): per module, in one
/// client order, A_stack = [f_1 A_1; f_2 A_2; …] (row blocks) and B_stack = [B_1 | B_2 | …] (column blocks), so
/// B_stack·A_stack = Σ f_k B_k A_k exactly. With f_k = p_k s_k the weight and each client's LoRA scale live in A
/// only — never in B as well (that would weight by p_k²) — and the stack is applied with scale 1.
/// </summary>
internal static class FloraStacking
{
    /// <summary>(A_stack R × d_in, B_stack d_out × R) with R = Σ r_k.</summary>
    public static (Tensor A, Tensor B) Stack(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b, IReadOnlyList<double> factors)
    {
        var aStack = cat(a.Select((t, k) => TensorMath.Fp32(t).mul(factors[k])).ToList(), 0);
        var bStack = cat(b.Select(TensorMath.Fp32).ToList(), 1);
        return (aStack, bStack);
    }

    /// <summary>f_k = p_k s_k for each contribution.</summary>
    public static IReadOnlyList<double> Factors(IReadOnlyList<ClientContribution> contributions) =>
        contributions.Select(c => c.Weight * c.Scale).ToList();
}
