using Confer.Reasoning.Actors;

namespace Confer.Reasoning.Candidates;

/// <summary>
/// How candidates are drawn: K paths per question at temperature τ and nucleus p (algorithms.md §3 defaults K=5,
/// τ=0.7, top_p=1), at most <see cref="MaxTokens"/> tokens each, seeded per question so that any question's candidates
/// can be regenerated alone.
/// </summary>
public sealed record CandidateSampling(int K = 5, double Temperature = 0.7, double TopP = 1.0, int MaxTokens = 512, long Seed = 42)
{
    public void Validate()
    {
        if (K < 1) throw new ArgumentOutOfRangeException(nameof(K), K, "K (candidates per question) must be ≥ 1.");
        if (!(Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Sampling temperature must be > 0 (candidates must differ).");
        if (TopP is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top_p must be in (0, 1].");
        if (MaxTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, "max_tokens must be ≥ 1.");
    }

    /// <summary>The actor request for question <paramref name="index"/> of <paramref name="dataset"/>.</summary>
    public ActorSampling For(string dataset, int index, IReadOnlyList<string> stop) =>
        new(K, Temperature, TopP, MaxTokens, stop, (long)(Federation.SeedMix.Mix((int)Seed, index, dataset) >> 1));

    /// <summary>The greedy (τ = 0) request: one completion, the CoT baseline.</summary>
    public ActorSampling Greedy(IReadOnlyList<string> stop) => new(1, 0, 1.0, MaxTokens, stop, 0);
}
