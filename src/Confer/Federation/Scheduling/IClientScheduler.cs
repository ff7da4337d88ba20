namespace Confer.Federation.Scheduling;

/// <summary>
/// Chooses which clients train in a round. Must be a pure function of (options, round, clients) — no hidden state —
/// so a resumed run selects exactly what the original run selected.
/// </summary>
public interface IClientScheduler
{
    /// <summary>The registry name, e.g. <c>uniform</c>.</summary>
    string Name { get; }

    /// <summary>The selected client ids in ascending ordinal order; <paramref name="round"/> is 1-based.</summary>
    IReadOnlyList<string> Select(int round, IReadOnlyList<ClientProfile> clients);

    /// <summary>
    /// The round's plan: <see cref="Select"/>, and optionally a LoRA rank per selected client (a resource-aware
    /// scheduler's choice; the strategy builds each task at that rank). The round driver calls this; the default
    /// leaves ranks to the strategy.
    /// </summary>
    RoundPlan Plan(int round, IReadOnlyList<ClientProfile> clients) => new(Select(round, clients));
}
