namespace Confer.Federation.Scheduling;

/// <summary>A scheduler's decision for one round: who trains, and (optionally) at which LoRA rank.</summary>
/// <param name="Clients">Selected client ids, ascending ordinal order.</param>
/// <param name="Ranks">A rank per selected client, or null to leave ranks to the strategy's plan (<c>client_ranks</c>).</param>
public sealed record RoundPlan(IReadOnlyList<string> Clients, IReadOnlyDictionary<string, int>? Ranks = null);
