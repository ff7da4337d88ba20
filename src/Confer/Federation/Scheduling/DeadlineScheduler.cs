namespace Confer.Federation.Scheduling;

/// <summary>
/// <c>deadline</c> — deadline-aware, resource-aware selection (the survey's outlook: predict each participant's next
/// round from its resources and history and assign work to fit). Each available client's round is predicted
/// (<see cref="RoundTimePredictor"/>); only clients predicted to finish within <c>round_deadline_s</c> are eligible
/// (a client whose time cannot be predicted yet is eligible), and max(int(n · fraction), min) of them are drawn
/// uniformly, seeded by (seed, round) as <c>uniform</c> does, so selection among the able stays unbiased. When no
/// client is predicted to make it, the <c>min_clients</c> fastest are taken so the round still happens. With
/// <see cref="SchedulingOptions.RankChoices"/> (<c>rank_by_capacity</c>) each selected client gets the largest
/// rank predicted to fit the deadline — its upload grows with the rank — for strategies that mix ranks without
/// padding (flora, flexlora, hetlora, ffa-lora). A pure function of its inputs, history included.
/// </summary>
internal sealed class DeadlineScheduler(SchedulingOptions options) : IClientScheduler
{
    public string Name => "deadline";

    public IReadOnlyList<string> Select(int round, IReadOnlyList<ClientProfile> clients) => Plan(round, clients).Clients;

    public RoundPlan Plan(int round, IReadOnlyList<ClientProfile> clients)
    {
        var ids = SchedulingMath.SortedIds(round, clients);
        var deadline = options.RoundDeadlineSeconds
                       ?? throw new ArgumentException("The deadline scheduler needs a round deadline (round_deadline_s).");
        var byId = clients.ToDictionary(c => c.Id, StringComparer.Ordinal);
        var predictor = new RoundTimePredictor(clients);
        // At its smallest rank a client moves the fewest bytes: if it cannot make it there, it cannot make it.
        int? smallest = options.RankChoices.Count > 0 ? options.RankChoices.Min() : null;
        var predicted = ids.ToDictionary(id => id, id => predictor.Seconds(byId[id], smallest), StringComparer.Ordinal);
        var able = ids.Where(id => predicted[id] is not { } s || s <= deadline).ToArray();
        var chosen = able.Length > 0
            ? SchedulingMath.Sample(able, Math.Min(options.SampleSize(ids.Length), able.Length), options.Seed, round)
            : [.. ids.OrderBy(id => predicted[id]).ThenBy(id => id, StringComparer.Ordinal).Take(options.MinClients).Order(StringComparer.Ordinal)];
        var ranks = options.RankChoices.Count > 0
            ? chosen.ToDictionary(id => id, id => predictor.LargestRankWithin(byId[id], options.RankChoices, deadline), StringComparer.Ordinal)
            : null;
        return new RoundPlan(chosen, ranks);
    }
}
