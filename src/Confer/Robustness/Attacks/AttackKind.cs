namespace Confer.Robustness.Attacks;

/// <summary>What a simulated malicious client does (the <c>attack</c> key).</summary>
public enum AttackKind
{
    /// <summary>No attack.</summary>
    None,

    /// <summary>Sends start − λ·Δ: its honest update reversed and scaled (λ = attack_scale, default 1).</summary>
    SignFlip,

    /// <summary>Sends start + λ·Δ: its honest update boosted (model replacement; λ default 10).</summary>
    Scale,

    /// <summary>Sends start + N(0, λ²) per coordinate instead of training (λ default 0.05).</summary>
    Noise,

    /// <summary>Trains on harmful instruction/response pairs instead of its data, and claims the most examples a client may.</summary>
    Poison,
}
