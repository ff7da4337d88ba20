namespace Confer.Federation;

/// <summary>
/// Strategy-side federation settings. Rank rule: a client with rank r_k trains with alpha
/// <c>LoraAlpha · r_k / LoraRank</c>, so every client and the global adapter share one LoRA scale
/// s = <c>LoraAlpha / LoraRank</c> (the FLoRA repo's α = 2·r_k is s = 2). Nullable optimiser fields mean "the strategy's
/// default"; a strategy that does not use a field rejects a value for it rather than ignoring it.
/// </summary>
public sealed record FederationSettings
{
    /// <summary>Every client of the federation, in index order: client i gets <c>ClientRanks[i % ClientRanks.Count]</c>.</summary>
    public IReadOnlyList<string> ClientIds { get; init; } = [];

    /// <summary>Reference rank; every client's rank when <see cref="ClientRanks"/> is empty.</summary>
    public int LoraRank { get; init; } = 16;

    /// <summary>PEFT alpha at <see cref="LoraRank"/>.</summary>
    public double LoraAlpha { get; init; } = 16;

    /// <summary>Heterogeneous ranks assigned by client index modulo the list length, e.g. 4,32,32,16,4; empty = all <see cref="LoraRank"/>.</summary>
    public IReadOnlyList<int> ClientRanks { get; init; } = [];

    /// <summary>FedProx μ (only <c>fedprox</c>; default 0.01).</summary>
    public double? ProximalMu { get; init; }

    /// <summary>Server learning rate η (fedavgm 1.0, fedadagrad 0.1, fedadam 0.1, fedyogi 0.01).</summary>
    public double? ServerLearningRate { get; init; }

    /// <summary>FedAvgM server momentum β (default 0.9).</summary>
    public double? ServerMomentum { get; init; }

    /// <summary>First-moment decay β1 (fedadam/fedyogi 0.9; fedadagrad 0, as Flower).</summary>
    public double? ServerBeta1 { get; init; }

    /// <summary>Second-moment decay β2 (fedadam/fedyogi 0.99).</summary>
    public double? ServerBeta2 { get; init; }

    /// <summary>Adaptivity τ (default 1e-3); also v_{−1} = τ².</summary>
    public double? ServerTau { get; init; }

    /// <summary>Largest aggregation weight p_k one client may get in a round (null = no cap); see <see cref="ClientWeights"/>.</summary>
    public double? MaxClientWeight { get; init; }

    /// <summary>Seeds the server's own randomness (re-initialising dead LoRA ranks on the way down).</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Client-level differential privacy (DP-FedAvg); null = off.</summary>
    public Privacy.DifferentialPrivacy.DpSettings? Dp { get; init; }

    /// <summary>A Byzantine-robust rule in place of the weighted mean (FedAvg family only); null = the strategy's own mean.</summary>
    public Robustness.Aggregators.IRobustAggregator? Robust { get; init; }

    /// <summary>Rounds run under secure aggregation: the strategy gets only the mean of the updates (<see cref="Strategy.AggregateMean"/>).</summary>
    public bool SecureAggregation { get; init; }

    /// <summary>Throws a clear error for out-of-range values.</summary>
    public void Validate()
    {
        if (LoraRank < 1) throw new ArgumentException($"LoraRank must be ≥ 1 (got {LoraRank}).");
        if (!(LoraAlpha > 0)) throw new ArgumentException($"LoraAlpha must be > 0 (got {LoraAlpha}).");
        if (ClientRanks.Any(r => r < 1))
            throw new ArgumentException($"ClientRanks must all be ≥ 1 (got {string.Join(",", ClientRanks)}).");
        if (ClientRanks.Count > 0 && ClientIds.Count == 0)
            throw new ArgumentException("ClientRanks are assigned by client index, so ClientIds must list every client.");
        var duplicate = ClientIds.GroupBy(id => id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"ClientIds lists '{duplicate.Key}' more than once.");
        Require(ProximalMu is null or >= 0, nameof(ProximalMu), "≥ 0");
        Require(ServerLearningRate is null or > 0, nameof(ServerLearningRate), "> 0");
        Require(ServerMomentum is null or (>= 0 and < 1), nameof(ServerMomentum), "in [0, 1)");
        Require(ServerBeta1 is null or (>= 0 and < 1), nameof(ServerBeta1), "in [0, 1)");
        Require(ServerBeta2 is null or (>= 0 and < 1), nameof(ServerBeta2), "in [0, 1)");
        Require(ServerTau is null or > 0, nameof(ServerTau), "> 0");
        Require(MaxClientWeight is null or (> 0 and <= 1), nameof(MaxClientWeight), "in (0, 1]");
        Dp?.Validate();
        if (Dp is not null && Robust is not null)
            throw new ArgumentException($"differential privacy and robust_aggregator '{Robust.Name}' cannot be combined: the noise is calibrated to the mean's sensitivity C/m, but a robust rule such as Krum or the median can move by up to C when one client changes.");
        if (SecureAggregation && Robust is not null)
            throw new ArgumentException($"secure aggregation and robust_aggregator '{Robust.Name}' cannot be combined: the server sees only the sum of the updates, and a robust rule needs each one. Bound updates on the clients with DP clipping (dp_clip_norm) instead.");
        if (SecureAggregation && MaxClientWeight is not null)
            throw new ArgumentException("secure aggregation and max_client_weight cannot be combined: the example counts stay masked, so the server cannot cap one client's weight.");
        if (Dp is not null && MaxClientWeight is not null)
            throw new ArgumentException("differential privacy weighs every client 1/m; max_client_weight has nothing to cap, remove it.");
    }

    private static void Require(bool ok, string name, string range)
    {
        if (!ok) throw new ArgumentException($"{name} must be {range}.");
    }
}
