using Confer.Federation;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>algorithms.md §4 HetLoRA: zero-padding, sparsity-weighted averaging, truncation on the way down.</summary>
public sealed class HetLoraTests
{
    private static readonly (string, long, long)[] Modules = [("q", 20, 18), ("v", 20, 10)];
    private static readonly FederationSettings Settings = new() { ClientIds = ["c0", "c1", "c2"], ClientRanks = [4, 8, 16], LoraRank = 16, LoraAlpha = 16 };

    [Fact]
    public void Sparsity_weights_sum_to_one_and_follow_the_product_norms()
    {
        using var g = new Generator(41);
        using var initial = RandomAdapter(g, 16, Modules, zeroB: true);
        using var strategy = Create("hetlora", initial, Settings);
        strategy.ConfigureTrain(1, ["c0", "c1", "c2"]);
        var updates = new[] { 4, 8, 16 }.Select((r, k) => Update($"c{k}", RandomAdapter(g, r, Modules), 10 * (k + 1))).ToList();
        var summary = strategy.AggregateTrain(1, updates);

        var weights = summary.Metrics.Where(m => m.Key.StartsWith("hetlora/sparsity_weight/", StringComparison.Ordinal)).Select(m => m.Value).ToList();
        Assert.Equal(3, weights.Count);
        Assert.Equal(1.0, weights.Sum(), 12);

        // Module q: w_k = ‖B_k A_k‖_F / Σ_j ‖B_j A_j‖_F; the global A is Σ w_k pad(A_k).
        var norms = updates.Select(u => Product(u.Adapter, "q", 1).norm().item<double>()).ToArray();
        var w = norms.Select(x => x / norms.Sum()).ToArray();
        var expectedA = zeros(16, 20, dtype: ScalarType.Float64);
        for (var k = 0; k < 3; k++)
        {
            var a = updates[k].Adapter[LoraKeys.A("q")].to(ScalarType.Float64);
            expectedA.narrow(0, 0, a.shape[0]).add_(a.mul(w[k]));
        }
        Assert.True(RelativeError(strategy.GlobalAdapter[LoraKeys.A("q")], expectedA) < 1e-6);
    }

    [Fact]
    public void Rows_beyond_the_largest_received_rank_stay_zero_and_come_back_alive_on_the_way_down()
    {
        using var g = new Generator(42);
        using var initial = RandomAdapter(g, 16, Modules, zeroB: true);
        using var strategy = Create("hetlora", initial, Settings);
        strategy.ConfigureTrain(1, ["c0", "c1"]);
        strategy.AggregateTrain(1, [Update("c0", RandomAdapter(g, 4, Modules), 10), Update("c1", RandomAdapter(g, 8, Modules), 30)]);
        foreach (var (path, _, _) in Modules)
        {
            Assert.Equal(0f, strategy.GlobalAdapter[LoraKeys.A(path)].narrow(0, 8, 8).abs().sum().item<float>());
            Assert.Equal(0f, strategy.GlobalAdapter[LoraKeys.B(path)].narrow(1, 8, 8).abs().sum().item<float>());
        }

        var task = strategy.ConfigureTrain(2, ["c2"])[0];
        Assert.Equal(16, task.LoraRank);
        foreach (var (path, _, _) in Modules)
        {
            Assert.True(task.Adapter![LoraKeys.A(path)].narrow(0, 8, 8).abs().sum(dim: 1).gt(0).all().item<bool>());
            Assert.True(RelativeError(Product(task.Adapter, path, 1), Product(strategy.GlobalAdapter, path, 1)) < 1e-6);
        }
    }

    [Fact]
    public void One_client_at_the_largest_rank_comes_back_unchanged()
    {
        using var g = new Generator(43);
        using var initial = RandomAdapter(g, 16, Modules, zeroB: true);
        using var strategy = Create("hetlora", initial, Settings);
        strategy.ConfigureTrain(1, ["c2"]);
        using var trained = RandomAdapter(g, 16, Modules);
        strategy.AggregateTrain(1, [Update("c2", trained, 10)]);
        AssertBitwiseEqual(trained, strategy.GlobalAdapter);
    }

    [Fact]
    public void Tasks_cut_the_global_adapter_to_each_client_rank()
    {
        using var g = new Generator(44);
        using var initial = RandomAdapter(g, 16, Modules);
        using var strategy = Create("hetlora", initial, Settings);
        var tasks = strategy.ConfigureTrain(1, ["c0", "c1", "c2"]);
        foreach (var task in tasks)
        {
            Assert.Equal(Bits(initial[LoraKeys.B("q")].narrow(1, 0, task.LoraRank)), Bits(task.Adapter![LoraKeys.B("q")]));
            Assert.Equal(Bits(initial[LoraKeys.A("q")].narrow(0, 0, task.LoraRank)), Bits(task.Adapter[LoraKeys.A("q")]));
            Assert.Equal(new TransferCost(task.LoraRank * (20 + 18 + 20 + 10), 4L * task.LoraRank * (20 + 18 + 20 + 10)), TransferCost.Of(task));
        }
    }
}
