using Confer.Federation;
using Confer.Models;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>algorithms.md §1 oracles for FedIT / FedAvg over LoRA adapters.</summary>
public sealed class FedAvgTests
{
    private static readonly (string, long, long)[] Modules = [("layers.0.q_proj", 6, 5), ("layers.0.v_proj", 6, 4)];
    private static readonly FederationSettings Uniform8 = new() { ClientIds = ClientIds(5), LoraRank = 8, LoraAlpha = 16 };

    [Fact]
    public void Weights_follow_example_counts_and_the_average_is_weighted()
    {
        using var g = new Generator(1);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var strategy = Create("fedavg", initial, Uniform8);
        strategy.ConfigureTrain(1, ["c0", "c1"]);
        using var a0 = RandomAdapter(g, 8, Modules);
        using var a1 = RandomAdapter(g, 8, Modules);
        var summary = strategy.AggregateTrain(1, [Update("c1", a1, 300, loss: 2.0), Update("c0", a0, 100, loss: 1.0)]);

        Assert.Equal(0.25, summary.Weights["c0"]);
        Assert.Equal(0.75, summary.Weights["c1"]);
        Assert.Equal(["c0", "c1"], summary.ClientIds);
        Assert.Equal(400, summary.TotalExamples);
        Assert.Equal(1.75, summary.Metrics["train_loss"], 12);
        foreach (var name in a0.Names)
            Assert.True(MaxAbsDiff(strategy.GlobalAdapter[name], a0[name].mul(0.25).add(a1[name].mul(0.75))) < 1e-6, name);
    }

    [Fact]
    public void One_client_comes_back_bitwise()
    {
        using var g = new Generator(2);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var strategy = Create("fedavg", initial, Uniform8);
        strategy.ConfigureTrain(1, ["c3"]);
        using var trained = RandomAdapter(g, 8, Modules);
        strategy.AggregateTrain(1, [Update("c3", trained, 17)]);
        AssertBitwiseEqual(trained, strategy.GlobalAdapter);
    }

    [Fact]
    public void Identical_clients_give_that_client_and_no_product_noise()
    {
        using var g = new Generator(3);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var strategy = Create("fedavg", initial, Uniform8);
        strategy.ConfigureTrain(1, ["c0", "c1", "c2"]);
        using var same = RandomAdapter(g, 8, Modules);
        strategy.AggregateTrain(1, [Update("c0", same, 10), Update("c1", same, 20), Update("c2", same, 70)]);
        foreach (var name in same.Names) Assert.True(MaxAbsDiff(strategy.GlobalAdapter[name], same[name]) < 1e-6);
        Assert.True(MaxAbsDiff(Product(strategy.GlobalAdapter, "layers.0.q_proj", 2), Product(same, "layers.0.q_proj", 2)) < 1e-5);
    }

    [Fact]
    public void Shared_A_makes_the_average_exact()
    {
        using var g = new Generator(4);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var strategy = Create("fedavg", initial, Uniform8);
        strategy.ConfigureTrain(1, ["c0", "c1", "c2"]);
        long[] n = [50, 30, 20];
        var updates = n.Select((count, k) =>
        {
            var adapter = RandomAdapter(g, 8, Modules);
            foreach (var path in new[] { "layers.0.q_proj", "layers.0.v_proj" }) adapter.Replace(LoraKeys.A(path), initial[LoraKeys.A(path)].clone());
            return Update($"c{k}", adapter, count);
        }).ToList();
        strategy.AggregateTrain(1, updates);

        foreach (var path in new[] { "layers.0.q_proj", "layers.0.v_proj" })
        {
            var exact = updates.Select((u, k) => Product(u.Adapter, path, 2).mul(n[k] / 100.0)).Aggregate((x, y) => x.add(y));
            Assert.True(RelativeError(Product(strategy.GlobalAdapter, path, 2), exact) < 1e-6);
        }
    }

    [Fact]
    public void Scalar_example_shows_the_noise_identity()
    {
        // p = (½, ½), (B, A) = (1, 1), (3, 3): B̄Ā = 4, Σ p_k B_k A_k = 5, ½ ΣΣ p_k p_l (B_k − B_l)(A_k − A_l) = 1.
        using var initial = Adapter(("m", zeros(1, 1), zeros(1, 1)));
        using var strategy = Create("fedavg", initial, new FederationSettings { LoraRank = 1, LoraAlpha = 1 });
        strategy.ConfigureTrain(1, ["a", "b"]);
        using var first = Adapter(("m", ones(1, 1), ones(1, 1)));
        using var second = Adapter(("m", full(1, 1, 3f), full(1, 1, 3f)));
        strategy.AggregateTrain(1, [Update("a", first, 5), Update("b", second, 5)]);
        Assert.Equal(4.0, Product(strategy.GlobalAdapter, "m", 1).item<double>(), 12);
    }

    [Fact]
    public void Update_order_does_not_matter_and_relabelling_changes_only_rounding()
    {
        using var g = new Generator(5);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        var adapters = Enumerable.Range(0, 4).Select(_ => RandomAdapter(g, 8, Modules)).ToArray();
        long[] n = [10, 40, 25, 25];

        NamedTensors Run(int[] assignment, bool reverse)
        {
            var strategy = Create("fedavg", initial, Uniform8);
            strategy.ConfigureTrain(1, ["c0", "c1", "c2", "c3"]);
            var updates = assignment.Select((src, k) => Update($"c{k}", adapters[src], n[src])).ToList();
            if (reverse) updates.Reverse();
            strategy.AggregateTrain(1, updates);
            return strategy.GlobalAdapter;
        }

        var baseline = Run([0, 1, 2, 3], reverse: false);
        AssertBitwiseEqual(baseline, Run([0, 1, 2, 3], reverse: true));
        var relabelled = Run([3, 1, 0, 2], reverse: false);
        foreach (var name in baseline.Names) Assert.True(MaxAbsDiff(baseline[name], relabelled[name]) < 1e-6);
    }

    [Fact]
    public void Weights_renormalise_over_the_updates_that_arrived()
    {
        using var g = new Generator(6);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var strategy = Create("fedavg", initial, Uniform8);
        strategy.ConfigureTrain(1, ["c0", "c1", "c2"]);
        using var a0 = RandomAdapter(g, 8, Modules);
        using var a2 = RandomAdapter(g, 8, Modules);
        var summary = strategy.AggregateTrain(1, [Update("c0", a0, 100), Update("c2", a2, 300)]);
        Assert.Equal([0.25, 0.75], summary.ClientIds.Select(id => summary.Weights[id]));
        Assert.Equal(400, summary.TotalExamples);
    }

    [Fact]
    public void Tasks_start_every_client_from_the_global_adapter()
    {
        using var g = new Generator(7);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var strategy = Create("fedavg", initial, Uniform8);
        var tasks = strategy.ConfigureTrain(1, ["c2", "c0"]);
        Assert.Equal(["c0", "c2"], tasks.Select(t => t.ClientId));
        foreach (var task in tasks)
        {
            Assert.Equal((8, 16.0, false, 0.0), (task.LoraRank, task.LoraAlpha, task.FreezeLoraA, task.ProximalMu));
            Assert.Null(task.BaseDelta);
            AssertBitwiseEqual(initial, task.Adapter!);
            Assert.Equal(new TransferCost(initial.ElementCount, initial.ElementCount * 4), TransferCost.Of(task));
            task.Adapter!.Dispose();
        }
        Assert.Equal(initial.ElementCount, strategy.GlobalAdapter.ElementCount);
    }
}
