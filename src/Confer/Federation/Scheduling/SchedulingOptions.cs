namespace Confer.Federation.Scheduling;

/// <summary>How many clients train per round, and the seed for random selection.</summary>
public sealed record SchedulingOptions
{
    /// <summary>Fraction of the clients per round (Shepherd: 0.1).</summary>
    public double Fraction { get; init; } = 0.1;

    /// <summary>Lower bound on clients per round (Shepherd: 1).</summary>
    public int MinClients { get; init; } = 1;

    public int Seed { get; init; } = 42;

    /// <summary>The round deadline in seconds (simulated in a simulation, real in a deployment); null = none.</summary>
    public double? RoundDeadlineSeconds { get; init; }

    /// <summary>Ranks a resource-aware scheduler may give clients (ascending); empty = ranks come from the strategy's plan.</summary>
    public IReadOnlyList<int> RankChoices { get; init; } = [];

    /// <summary>Flower's rule: max(int(n · fraction), min), which must not exceed n.</summary>
    public int SampleSize(int available)
    {
        if (!(Fraction is > 0 and <= 1)) throw new ArgumentException($"Scheduling Fraction must be in (0, 1] (got {Fraction}).");
        if (MinClients < 1) throw new ArgumentException($"Scheduling MinClients must be ≥ 1 (got {MinClients}).");
        if (MinClients > available)
            throw new ArgumentException($"Scheduling MinClients is {MinClients} but only {available} clients are available; lower MinClients.");
        return Math.Max((int)(available * Fraction), MinClients);
    }
}
