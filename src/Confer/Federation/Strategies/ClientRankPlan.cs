namespace Confer.Federation.Strategies;

/// <summary>
/// Who trains at which rank: client i of <see cref="FederationSettings.ClientIds"/> gets
/// <c>ClientRanks[i % ClientRanks.Count]</c>, everyone <see cref="FederationSettings.LoraRank"/> when the list is empty.
/// All clients share one LoRA scale s = LoraAlpha / LoraRank, so client k's alpha is s·r_k.
/// </summary>
public sealed class ClientRankPlan
{
    private readonly IReadOnlyList<int> _ranks;
    private readonly Dictionary<string, int> _index;
    private readonly int _defaultRank;

    internal ClientRankPlan(FederationSettings settings)
    {
        _ranks = settings.ClientRanks;
        _defaultRank = settings.LoraRank;
        _index = settings.ClientIds.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);
        Scale = settings.LoraAlpha / settings.LoraRank;
        MaxRank = _ranks.Count == 0 ? _defaultRank : _ranks.Max();
        IsUniform = _ranks.Count == 0 || _ranks.All(r => r == _ranks[0]);
    }

    /// <summary>The shared LoRA scale s = α / r.</summary>
    public double Scale { get; }

    /// <summary>The largest client rank (the global adapter's rank for hetlora and ffa-lora).</summary>
    public int MaxRank { get; }

    /// <summary>True when every client trains at the same rank.</summary>
    public bool IsUniform { get; }

    /// <summary>The rank <paramref name="clientId"/> trains at; throws for a client not in <see cref="FederationSettings.ClientIds"/> when ranks differ.</summary>
    public int RankOf(string clientId)
    {
        if (_ranks.Count == 0) return _defaultRank;
        return _index.TryGetValue(clientId, out var i)
            ? _ranks[i % _ranks.Count]
            : throw new ArgumentException($"Client '{clientId}' is not in FederationSettings.ClientIds, so it has no rank; add it to ClientIds.");
    }

    /// <summary>The PEFT alpha that gives a rank-<paramref name="rank"/> adapter the shared scale: s·rank.</summary>
    public double AlphaFor(int rank) => Scale * rank;
}
