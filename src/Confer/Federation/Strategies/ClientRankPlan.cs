namespace Confer.Federation.Strategies;

/// <summary>
/// Who trains at which rank: client i of <see cref="FederationSettings.ClientIds"/> gets
/// <c>ClientRanks[i % ClientRanks.Count]</c>, everyone <see cref="FederationSettings.LoraRank"/> when the list is empty.
/// All clients share one LoRA scale s = LoraAlpha / LoraRank, so client k's alpha is s·r_k.
/// </summary>
internal sealed class ClientRankPlan
{
    private readonly IReadOnlyList<int> _ranks;
    private readonly Dictionary<string, int> _index;
    private readonly int _defaultRank;

    public ClientRankPlan(FederationSettings settings)
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

    public int MaxRank { get; }

    /// <summary>True when every client trains at the same rank.</summary>
    public bool IsUniform { get; }

    public int RankOf(string clientId)
    {
        if (_ranks.Count == 0) return _defaultRank;
        return _index.TryGetValue(clientId, out var i)
            ? _ranks[i % _ranks.Count]
            : throw new ArgumentException($"Client '{clientId}' is not in FederationSettings.ClientIds, so it has no rank; add it to ClientIds.");
    }

    public double AlphaFor(int rank) => Scale * rank;
}
