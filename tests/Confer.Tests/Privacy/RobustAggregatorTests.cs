using Confer.Robustness.Aggregators;
using static TorchSharp.torch;

namespace Confer.Tests.Privacy;

/// <summary>The robust rules against the oracles of algorithms.md §8 (scalars as 1-element updates).</summary>
public class RobustAggregatorTests
{
    private static Tensor Column(params double[] values) => tensor(values, ScalarType.Float64).unsqueeze(1);

    private static double[] Uniform(int n) => Enumerable.Repeat(1.0 / n, n).ToArray();

    [Fact]
    public void Median_of_1_2_100_is_2_and_of_an_even_count_the_mean_of_the_middle_two()
    {
        Assert.Equal(2, new CoordinateMedian().Combine(Column(1, 2, 100), Uniform(3)).item<double>());
        Assert.Equal(2.5, new CoordinateMedian().Combine(Column(1, 2, 3, 100), Uniform(4)).item<double>());
        // Coordinate-wise: each column on its own.
        var two = tensor(new double[,] { { 1, 10 }, { 2, -5 }, { 100, 0 } });
        Assert.Equal([2.0, 0.0], new CoordinateMedian().Combine(two, Uniform(3)).data<double>().ToArray());
    }

    [Fact]
    public void Trimmed_mean_with_beta_0_2_of_1_to_4_and_100_is_3_and_a_ratio_that_trims_everything_is_an_error()
    {
        Assert.Equal(3, new TrimmedMean(0.2).Combine(Column(1, 2, 3, 4, 100), Uniform(5)).item<double>(), 12);
        // β < ½ keeps 2⌊βn⌋ < n for every n; β = ½ would trim everything and is refused.
        Assert.Throws<ArgumentException>(() => new TrimmedMean(0.5));
    }

    [Fact]
    public void Krum_scores_and_choice_match_the_oracle_and_multi_krum_averages_the_best_three()
    {
        var updates = Column(0, 0.1, 0.25, 0.3, 10);
        var krum = new Krum(byzantine: 1, keep: 1);
        var scores = krum.Scores(updates);
        double[] expected = [0.0725, 0.0325, 0.025, 0.0425, 189.1525];
        for (var i = 0; i < 5; i++) Assert.Equal(expected[i], scores[i], 10);
        Assert.Equal(0.25, krum.Combine(updates, Uniform(5)).item<double>(), 12);
        Assert.Equal(0.216667, new Krum(byzantine: 1, keep: 3).Combine(updates, Uniform(5)).item<double>(), 6);
    }

    [Fact]
    public void Krum_with_fewer_than_2f_plus_3_updates_is_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => new Krum(byzantine: 1, keep: 1).Combine(Column(1, 2, 3, 4), Uniform(4)));
        Assert.Throws<ArgumentException>(() => new Krum(byzantine: 2, keep: null).Combine(Column(1, 2, 3, 4, 5, 6), Uniform(6)));
    }

    [Fact]
    public void Norm_bound_scales_3_4_to_0_6_0_8_and_keeps_small_updates()
    {
        var combined = new NormBounding(1).Combine(tensor(new double[,] { { 3, 4 } }), [1.0]);
        Assert.Equal([0.6, 0.8], combined.data<double>().ToArray().Select(v => Math.Round(v, 12)));
        var small = new NormBounding(1).Combine(tensor(new double[,] { { 0.3, 0.4 }, { 0.1, 0 } }), [0.5, 0.5]);
        Assert.Equal([0.2, 0.2], small.data<double>().ToArray().Select(v => Math.Round(v, 12)));
    }

    [Fact]
    public void The_registry_builds_each_rule_by_name_and_none_means_no_rule()
    {
        Assert.Null(RobustAggregatorRegistry.Create("none", new RobustOptions()));
        foreach (var name in new[] { "median", "trimmed-mean", "krum", "multi-krum", "norm-bound" })
            Assert.Equal(name, RobustAggregatorRegistry.Create(name, new RobustOptions())!.Name);
        Assert.Throws<ArgumentException>(() => RobustAggregatorRegistry.Create("mean-of-medians", new RobustOptions()));
    }
}
