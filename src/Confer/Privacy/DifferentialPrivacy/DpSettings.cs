namespace Confer.Privacy.DifferentialPrivacy;

/// <summary>Where DP-FedAvg's Gaussian noise is added.</summary>
public enum DpMode
{
    /// <summary>
    /// The server adds N(0, (zC/m)²) to the mean of the m clipped updates (central DP, McMahan et al. 2018; Flower's
    /// DifferentialPrivacy*FixedClipping wrappers). Protects against everyone who sees the model, not against the server.
    /// </summary>
    Server,

    /// <summary>
    /// Each of the m selected clients adds N(0, (zC)²/m) to its clipped update, so their sum carries the same noise as
    /// server mode (distributed DP). With secure aggregation the server sees only that sum; without it every single
    /// update carries only 1/√m of the noise. A client that drops out takes its share of the noise with it, and the
    /// accountant counts the noise that actually arrived.
    /// </summary>
    Client,
}

/// <summary>
/// Client-level DP-FedAvg (algorithms.md §7.1): every update Δ_k (the whole flattened adapter change, or FLoRA's dense
/// product) is clipped to norm C on the client, before any codec; aggregation weights are uniform (1/m), so one
/// client moves the mean by at most C/m; Gaussian noise of multiplier z is added; an RDP accountant composes the
/// rounds with sampling rate q = selected/clients.
/// </summary>
/// <param name="ClipNorm">C (the starting C under adaptive clipping).</param>
/// <param name="NoiseMultiplier">z: noise std / sensitivity.</param>
/// <param name="Mode">Where the noise is added.</param>
/// <param name="Delta">δ at which ε is reported.</param>
/// <param name="TargetEpsilon">Stop before a round that would take ε above this (0 = never stop).</param>
/// <param name="Adaptive">Adaptive clipping (Andrew et al., arXiv 1905.03871): C follows the target quantile of update norms.</param>
/// <param name="TargetQuantile">γ: the share of updates that should be left unclipped.</param>
/// <param name="ClipLearningRate">η_C of the geometric update C ← C·exp(−η_C(b̃ − γ)).</param>
/// <param name="ClippedCountStddev">σ_b of the noise on the count of unclipped updates; null = m/20 (Andrew et al., Flower).</param>
/// <param name="NoiseKey">32-byte key of the server's noise stream (a simulation derives it from the seed; a server keeps a secret one).</param>
public sealed record DpSettings(
    double ClipNorm,
    double NoiseMultiplier,
    DpMode Mode,
    double Delta,
    double TargetEpsilon,
    bool Adaptive,
    double TargetQuantile,
    double ClipLearningRate,
    double? ClippedCountStddev,
    byte[] NoiseKey)
{
    /// <summary>Throws a clear error for out-of-range values.</summary>
    public void Validate()
    {
        if (!(ClipNorm > 0) || !double.IsFinite(ClipNorm)) throw new ArgumentException($"dp_clip_norm must be > 0 (got {ClipNorm}).");
        if (!(NoiseMultiplier >= 0) || !double.IsFinite(NoiseMultiplier)) throw new ArgumentException($"dp_noise_multiplier must be ≥ 0 (got {NoiseMultiplier}).");
        if (!(Delta is > 0 and < 1)) throw new ArgumentException($"dp_delta must be in (0, 1) (got {Delta}).");
        if (!(TargetEpsilon >= 0)) throw new ArgumentException($"dp_target_epsilon must be ≥ 0 (got {TargetEpsilon}).");
        if (!(TargetQuantile is >= 0 and <= 1)) throw new ArgumentException($"dp_target_quantile must be in [0, 1] (got {TargetQuantile}).");
        if (!(ClipLearningRate > 0)) throw new ArgumentException($"dp_clip_lr must be > 0 (got {ClipLearningRate}).");
        if (ClippedCountStddev is < 0) throw new ArgumentException($"dp_clipped_count_stddev must be ≥ 0 (got {ClippedCountStddev}).");
        if (Adaptive && Mode == DpMode.Client)
            throw new ArgumentException("adaptive clipping needs dp_mode: server (the server noises the count of unclipped updates and the update mean together).");
        if (NoiseKey.Length != 32) throw new ArgumentException("The DP noise key must be 32 bytes.");
    }
}

/// <summary>How the DP clipping norm is chosen (the <c>dp_clipping</c> key).</summary>
public enum DpClipping
{
    /// <summary>C = dp_clip_norm every round.</summary>
    Fixed,

    /// <summary>C starts at dp_clip_norm and follows the target quantile of the update norms (Andrew et al.).</summary>
    Adaptive,
}
