using Confer.Federation.Scheduling;

namespace Confer.Tests.Federation;

/// <summary>Participation scheduling: sample sizes, per-round reproducibility, coverage.</summary>
public sealed class SchedulerTests
{
    private static IReadOnlyList<ClientProfile> Clients(int n) => Enumerable.Range(0, n).Select(i => new ClientProfile($"client-{i:D2}")).ToList();

    [Theory]
    [InlineData(10, 0.1, 1, 1)]
    [InlineData(10, 0.35, 1, 3)]
    [InlineData(10, 0.05, 2, 2)]
    [InlineData(20, 1.0, 2, 20)]
    public void Uniform_picks_max_of_fraction_and_minimum(int n, double fraction, int min, int expected)
    {
        var scheduler = SchedulerRegistry.Create("uniform", new SchedulingOptions { Fraction = fraction, MinClients = min });
        var selected = scheduler.Select(1, Clients(n));
        Assert.Equal(expected, selected.Count);
        Assert.Equal(selected.Distinct().Order(StringComparer.Ordinal), selected);
    }

    [Fact]
    public void Uniform_is_a_function_of_seed_and_round_only()
    {
        var options = new SchedulingOptions { Fraction = 0.3, Seed = 9 };
        var clients = Clients(10);
        var first = Enumerable.Range(1, 20).Select(r => SchedulerRegistry.Create("uniform", options).Select(r, clients)).ToList();
        // A fresh scheduler (a resumed run), clients listed in another order, round 13 alone: same picks.
        var shuffled = clients.Reverse().ToList();
        Assert.Equal(first[12], SchedulerRegistry.Create("uniform", options).Select(13, shuffled));
        Assert.True(first.Distinct(new SequenceComparer()).Count() > 10);
        Assert.NotEqual(first[0], SchedulerRegistry.Create("uniform", options with { Seed = 10 }).Select(1, clients));
    }

    [Fact]
    public void Uniform_selects_every_client_about_equally_often()
    {
        var scheduler = SchedulerRegistry.Create("uniform", new SchedulingOptions { Fraction = 0.2 });
        var clients = Clients(10);
        var counts = Enumerable.Range(1, 2000).SelectMany(r => scheduler.Select(r, clients)).GroupBy(id => id).Select(g => g.Count()).ToList();
        Assert.Equal(10, counts.Count);
        Assert.All(counts, c => Assert.InRange(c, 320, 480)); // expected 400
    }

    [Fact]
    public void Round_robin_covers_everyone_within_ceil_n_over_k_rounds()
    {
        var scheduler = SchedulerRegistry.Create("round-robin", new SchedulingOptions { Fraction = 0.3 });
        var clients = Clients(10);
        var rounds = Enumerable.Range(1, 4).Select(r => scheduler.Select(r, clients)).ToList();
        Assert.All(rounds, r => Assert.Equal(3, r.Count));
        Assert.Equal(10, rounds.SelectMany(r => r).Distinct().Count());
        Assert.Empty(rounds[0].Intersect(rounds[1]).Concat(rounds[1].Intersect(rounds[2])));
        Assert.Equal(["client-00", "client-01", "client-09"], rounds[3]);
    }

    [Fact]
    public void All_takes_every_client_and_bad_options_are_refused()
    {
        Assert.Equal(Clients(5).Select(c => c.Id), SchedulerRegistry.Create("all").Select(7, Clients(5).Reverse().ToList()));
        Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("uniform", new SchedulingOptions { MinClients = 6 }).Select(1, Clients(5)));
        Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("uniform", new SchedulingOptions { Fraction = 0 }).Select(1, Clients(5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SchedulerRegistry.Create("all").Select(0, Clients(5)));
        Assert.Contains("round-robin", Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("fastest")).Message);
    }

    private sealed class SequenceComparer : IEqualityComparer<IReadOnlyList<string>>
    {
        public bool Equals(IReadOnlyList<string>? x, IReadOnlyList<string>? y) => x!.SequenceEqual(y!);

        public int GetHashCode(IReadOnlyList<string> obj) => string.Join(",", obj).GetHashCode(StringComparison.Ordinal);
    }
}
