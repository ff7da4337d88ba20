namespace Confer.Federation.Updates;

/// <summary>
/// How a strategy's aggregate depends on a client's update, which decides whether mechanisms that never see the
/// strategy's code — clipping for differential privacy, secure summation, robust rules — can work on it. A strategy
/// whose new state is its start plus the (weighted) mean of one vector per client has a linear form; the vector is
/// the client's "update" Δ_k in the sense of DP-FedAvg (algorithms.md §7.1).
/// </summary>
public enum UpdateForm
{
    /// <summary>The strategy needs every update as sent (HetLoRA's norm-based weights, FlexLoRA): no linear form.</summary>
    Individual,

    /// <summary>Δ_k = each returned tensor minus the tensor the task started it from (the FedAvg family; FFA-LoRA's B).</summary>
    AdapterDelta,

    /// <summary>
    /// Δ_k = s_k·B_k·A_k per LoRA module (the dense change of a fresh adapter, which FLoRA merges) plus each other
    /// tensor's change. Clipping scales B_k; noise and secure sums are dense, never on A and B separately, whose
    /// product would amplify noise (algorithms.md §7.1, DP with FLoRA).
    /// </summary>
    LoraProduct,
}
