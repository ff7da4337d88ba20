using Confer.Federation;
using Confer.Federation.Strategies;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>algorithms.md §4 FlexLoRA: exact global product, per-client SVD truncation (Eckart–Young).</summary>
public sealed class FlexLoraTests
{
    private static readonly int[] Ranks = [4, 32, 32, 16, 4];
    private static readonly (string, long, long)[] Modules = [("q", 48, 40), ("o", 24, 48)];

    [Fact]
    public void Diag_3_1_truncated_to_rank_1_is_diag_3_0()
    {
        var settings = new FederationSettings { ClientIds = ["c0", "c1"], ClientRanks = [2, 1], LoraRank = 1, LoraAlpha = 1 };
        using var initial = Adapter(("m", zeros(2, 2), zeros(2, 2)));
        using var strategy = Create("flexlora", initial, settings);
        strategy.ConfigureTrain(1, ["c0"]);
        strategy.AggregateTrain(1, [Update("c0", Adapter(("m", eye(2), Matrix(new float[,] { { 3, 0 }, { 0, 1 } }))), 10)]);
        var task = strategy.ConfigureTrain(2, ["c1"])[0];
        Assert.Equal(1.0, task.LoraAlpha);
        var product = Product(task.Adapter!, "m", task.LoraAlpha / task.LoraRank);
        Assert.True(MaxAbsDiff(product, Matrix(new float[,] { { 3, 0 }, { 0, 0 } })) < 1e-6);
    }

    [Fact]
    public void Global_is_exact_and_each_truncation_meets_the_Eckart_Young_bound()
    {
        using var g = new Generator(31);
        var clients = ClientIds(5);
        var settings = new FederationSettings { ClientIds = clients, ClientRanks = Ranks, LoraRank = 8, LoraAlpha = 16 };
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var strategy = Create("flexlora", initial, settings);
        var tasks = strategy.ConfigureTrain(1, clients);
        long[] n = [10, 20, 30, 25, 15];
        var updates = tasks.Select((t, k) => Update(t.ClientId, RandomAdapter(g, t.LoraRank, Modules), n[k])).ToList();
        var summary = strategy.AggregateTrain(1, updates);
        Assert.Equal(40, summary.Metrics["flexlora/global_rank"]); // min(Σ r_k = 88, d) per module, largest over modules

        var next = strategy.ConfigureTrain(2, clients);
        foreach (var (path, _, _) in Modules)
        {
            var wg = updates.Select((u, k) => Product(u.Adapter, path, 2.0).mul(n[k] / 100.0)).Aggregate((x, y) => x.add(y));
            Assert.True(RelativeError(Product(strategy.GlobalAdapter, path, strategy.GlobalLoraScale), wg) < 1e-5);
            var sigma = linalg.svdvals(wg);
            foreach (var task in next)
            {
                var approx = Product(task.Adapter!, path, task.LoraAlpha / task.LoraRank);
                var kept = Math.Min(task.LoraRank, sigma.shape[0]);
                var tail = Math.Sqrt(sigma.narrow(0, kept, sigma.shape[0] - kept).square().sum().item<double>());
                var error = wg.sub(approx).norm().item<double>();
                Assert.True(Math.Abs(error - tail) <= 1e-4 * sigma[0].item<double>(), $"{path} rank {task.LoraRank}: {error} vs {tail}");
            }
        }
    }

    [Fact]
    public void A_low_rank_global_reaches_a_larger_client_exactly_with_live_ranks()
    {
        using var g = new Generator(32);
        var settings = new FederationSettings { ClientIds = ["c0", "c1"], ClientRanks = [4, 16], LoraRank = 4, LoraAlpha = 4 };
        using var initial = RandomAdapter(g, 4, Modules, zeroB: true);
        using var strategy = Create("flexlora", initial, settings);
        strategy.ConfigureTrain(1, ["c0"]);
        using var trained = RandomAdapter(g, 4, Modules);
        strategy.AggregateTrain(1, [Update("c0", trained, 7)]);
        var task = strategy.ConfigureTrain(2, ["c1"])[0];
        foreach (var (path, _, _) in Modules)
        {
            // rank(W_g) = 4 ≤ 16: the truncation reproduces W_g; the 12 padding ranks get fresh A rows and zero B columns.
            Assert.True(RelativeError(Product(task.Adapter!, path, 1.0), Product(trained, path, 1.0)) < 1e-5);
            var a = task.Adapter![LoraKeys.A(path)];
            Assert.True(a.narrow(0, 4, 12).abs().sum(dim: 1).gt(0).all().item<bool>());
            Assert.Equal(0f, task.Adapter[LoraKeys.B(path)].narrow(1, 4, 12).abs().sum().item<float>());
        }
    }

    [Fact]
    public void Low_rank_svd_matches_the_dense_decomposition()
    {
        using var g = new Generator(33);
        var b = randn([30, 12], generator: g);
        var a = randn([12, 20], generator: g);
        var (u, s, vh) = LowRankSvd.Of(b, a);
        var dense = b.to(ScalarType.Float64).matmul(a.to(ScalarType.Float64));
        Assert.True(RelativeError(s, linalg.svdvals(dense).narrow(0, 0, 12)) < 1e-10);
        Assert.True(RelativeError(u.mul(s).matmul(vh), dense) < 1e-10);
    }
}
