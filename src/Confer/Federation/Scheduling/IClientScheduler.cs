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
}
