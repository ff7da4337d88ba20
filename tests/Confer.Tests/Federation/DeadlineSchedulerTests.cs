using Confer.Federation.Scheduling;

namespace Confer.Tests.Federation;

public class DeadlineSchedulerTests
{
    private const long Tokens = 1000;
    private const long BytesDown = 1_000_000;
    private const long BytesUp = 1_000_000;

    /// <summary>
    /// A client with declared capabilities and one timed round that matches them, so its predicted round is, by hand,
    /// RTT + 8·10⁶ bits / down + 1000 tokens / tps + RTT + 8·10⁶ bits / up.
    /// </summary>
    private static ClientProfile Client(string id, double tps, double upMbps, double downMbps, double latencyMs = 0, int rank = 8) => new(id)
    {
        Capabilities = new Dictionary<string, double>
        {
            [ClientCapabilities.TokensPerSecond] = tps, [ClientCapabilities.UplinkMbps] = upMbps,
            [ClientCapabilities.DownlinkMbps] = downMbps, [ClientCapabilities.LatencyMs] = latencyMs,
        },
        History = [new ClientObservation(1, rank, BytesDown, BytesUp, Tokens, latencyMs / 1000 + 8.0 / downMbps, Tokens / tps, latencyMs / 1000 + 8.0 / upMbps)],
    };

    private static double ByHand(ClientProfile c) =>
        2 * c.Capabilities[ClientCapabilities.LatencyMs] / 1000 + BytesDown * 8 / (c.Capabilities[ClientCapabilities.DownlinkMbps] * 1e6)
        + Tokens / c.Capabilities[ClientCapabilities.TokensPerSecond] + BytesUp * 8 / (c.Capabilities[ClientCapabilities.UplinkMbps] * 1e6);

    [Fact]
    public void NeverSelectsAClientPredictedToMissTheDeadlineWhenOthersCanMakeIt()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 40; trial++)
        {
            var clients = Enumerable.Range(0, 12).Select(i => Client($"c{i:D2}", tps: 50 + random.NextDouble() * 2000,
                upMbps: 0.5 + random.NextDouble() * 20, downMbps: 1 + random.NextDouble() * 50, latencyMs: random.NextDouble() * 80)).ToList();
            var deadline = 4 + random.NextDouble() * 16;
            var able = clients.Where(c => ByHand(c) <= deadline).Select(c => c.Id).ToHashSet();
            var scheduler = SchedulerRegistry.Create("deadline", new SchedulingOptions { Fraction = 0.5, Seed = trial, RoundDeadlineSeconds = deadline });
            for (var round = 1; round <= 20; round++)
            {
                var selected = scheduler.Select(round, clients);
                if (able.Count == 0)
                {
                    Assert.Equal(new[] { clients.MinBy(ByHand)!.Id }, selected); // nobody can make it: the fastest (min_clients 1)
                    continue;
                }
                Assert.All(selected, id => Assert.Contains(id, able));
                Assert.Equal(Math.Min(6, able.Count), selected.Count);
                Assert.Equal(selected.Order(StringComparer.Ordinal), selected);
            }
        }
    }

    [Fact]
    public void SelectionAmongTheAbleIsUniformAndRepeatableAndAClientNeverTimedIsEligible()
    {
        List<ClientProfile> clients =
        [
            Client("fast1", 1000, 8, 8), Client("fast2", 1000, 8, 8), Client("fast3", 1000, 8, 8), Client("slow", 10, 8, 8),
            new ClientProfile("new") { Capabilities = new Dictionary<string, double>() },
        ];
        var scheduler = SchedulerRegistry.Create("deadline", new SchedulingOptions { Fraction = 0.4, Seed = 3, RoundDeadlineSeconds = 5 });
        var counts = new Dictionary<string, int>();
        for (var round = 1; round <= 3000; round++)
            foreach (var id in scheduler.Select(round, clients)) counts[id] = counts.GetValueOrDefault(id) + 1;
        Assert.False(counts.ContainsKey("slow"));
        // Two of the four able clients per round: each is picked half the time (±4σ of Binomial(3000, ½)).
        Assert.All(new[] { "fast1", "fast2", "fast3", "new" }, id => Assert.InRange(counts[id], 1390, 1610));
        Assert.Equal(scheduler.Select(17, clients), SchedulerRegistry.Create("deadline", new SchedulingOptions { Fraction = 0.4, Seed = 3, RoundDeadlineSeconds = 5 }).Select(17, [.. clients.AsEnumerable().Reverse()]));
    }

    /// <summary>
    /// Ranks by capacity, by hand: bytes up are 10⁶ at rank 8, so 125 000 per rank unit. "thin" (1 Mbit/s up): rank 8
    /// → 1 (down) + 1 (compute) + 8 (up) = 10 s, rank 4 → 6 s, rank 2 → 4 s; with a 7 s deadline it gets rank 4.
    /// "wide" (8 Mbit/s up): rank 8 → 3 s, the largest.
    /// </summary>
    [Fact]
    public void EachSelectedClientGetsTheLargestRankPredictedToFit()
    {
        List<ClientProfile> clients = [Client("thin", 1000, 1, 8), Client("wide", 1000, 8, 8)];
        var scheduler = SchedulerRegistry.Create("deadline", new SchedulingOptions { Fraction = 1, Seed = 1, RoundDeadlineSeconds = 7, RankChoices = [2, 4, 8] });
        var plan = scheduler.Plan(2, clients);
        Assert.Equal(["thin", "wide"], plan.Clients);
        Assert.Equal(4, plan.Ranks!["thin"]);
        Assert.Equal(8, plan.Ranks["wide"]);

        // Too thin even at rank 2 (1 + 1 + 250 000·8 / 0.25·10⁶ = 10 s > 7 s): not selected while others fit.
        var hopeless = Client("hopeless", 1000, 0.25, 8);
        Assert.Equal(["thin", "wide"], scheduler.Plan(2, [.. clients, hopeless]).Clients);
    }

    [Fact]
    public void MeasuredHistoryOverridesADeviceThatClaimsToBeFaster()
    {
        // Declares 1000 tokens/s but took 20 s for 1000 tokens in each of its rounds.
        var liar = Client("liar", 1000, 8, 8) with
        {
            History = [new ClientObservation(1, 8, BytesDown, BytesUp, Tokens, 1, 20, 1), new ClientObservation(2, 8, BytesDown, BytesUp, Tokens, 1, 20, 1)],
        };
        var predictor = new RoundTimePredictor([liar]);
        Assert.Equal(22, predictor.Seconds(liar)!.Value, 9);
        var scheduler = SchedulerRegistry.Create("deadline", new SchedulingOptions { Fraction = 1, RoundDeadlineSeconds = 10 });
        Assert.Equal(["honest"], scheduler.Select(3, [liar, Client("honest", 1000, 8, 8)]));
    }
}
