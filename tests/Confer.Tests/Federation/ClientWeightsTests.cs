using Confer.Federation;

namespace Confer.Tests.Federation;

/// <summary>Aggregation weights from client-reported counts: bounded, overflow-free, and capped by water-filling.</summary>
public class ClientWeightsTests
{
    [Fact]
    public void Uncapped_weights_are_the_example_shares()
    {
        Assert.Equal([0.25, 0.75], ClientWeights.Of([100, 300], null));
    }

    [Fact]
    public void Counts_near_the_limit_do_not_overflow_the_sum()
    {
        // Σ n in a long would overflow at 2^63; the shares are still exact fractions.
        var w = ClientWeights.Of([ClientWeights.MaxExamples, ClientWeights.MaxExamples, ClientWeights.MaxExamples], null);
        Assert.All(w, x => Assert.Equal(1.0 / 3, x, 15));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClientWeights.Of([long.MaxValue, 1], null));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClientWeights.Of([0, 1], null));
    }

    [Fact]
    public void A_claimed_flood_of_examples_is_capped_and_the_rest_shared_by_count()
    {
        // n = (2^40, 100, 300), cap 0.5: the claimant gets 0.5, the other 0.5 splits 1 : 3 — by hand 0.125 and 0.375.
        var w = ClientWeights.Of([1L << 40, 100, 300], 0.5);
        Assert.Equal(0.5, w[0], 12);
        Assert.Equal(0.125, w[1], 12);
        Assert.Equal(0.375, w[2], 12);
        Assert.Equal(1.0, w.Sum(), 12);
    }

    [Fact]
    public void Capping_repeats_until_no_weight_exceeds_the_cap()
    {
        // n = (1000, 1000, 10, 10), cap 0.4: both large clients sit at 0.4; the small ones share 0.2 equally.
        var w = ClientWeights.Of([1000, 1000, 10, 10], 0.4);
        Assert.Equal([0.4, 0.4, 0.1, 0.1], w.Select(x => Math.Round(x, 12)));
        // A cap nothing reaches changes nothing; one that no weighting can respect (K·c < 1) gives equal weights.
        Assert.Equal(ClientWeights.Of([1, 2, 3], null), ClientWeights.Of([1, 2, 3], 0.9));
        Assert.Equal([0.5, 0.5], ClientWeights.Of([1, 99], 0.3));
    }
}
