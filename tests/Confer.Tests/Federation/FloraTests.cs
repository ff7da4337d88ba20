using Confer.Federation;
using Confer.Federation.Strategies;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>algorithms.md §2 oracles for FLoRA stacking, plus its round protocol and downlink accounting.</summary>
public sealed class FloraTests
{
    private static readonly int[] HeteroRanks = [4, 32, 32, 16, 4];
    private static readonly (string, long, long)[] Modules = [("q", 24, 20), ("v", 24, 12)];

    [Fact]
    public void Golden_example_stacks_and_merges_exactly()
    {
        // p = (0.25, 0.75), s = 1, B1 = [[1],[2]], A1 = [[1,0,1]], B2 = I₂, A2 = [[0,1,0],[2,0,0]].
        using var b1 = Matrix(new float[,] { { 1 }, { 2 } });
        using var a1 = Matrix(new float[,] { { 1, 0, 1 } });
        using var b2 = eye(2);
        using var a2 = Matrix(new float[,] { { 0, 1, 0 }, { 2, 0, 0 } });

        var (aStack, bStack) = FloraStacking.Stack([a1, a2], [b1, b2], [0.25, 0.75]);
        Assert.Equal(Bits(Matrix(new float[,] { { 0.25f, 0, 0.25f }, { 0, 0.75f, 0 }, { 1.5f, 0, 0 } })), Bits(aStack));
        Assert.Equal(Bits(Matrix(new float[,] { { 1, 1, 0 }, { 2, 0, 1 } })), Bits(bStack));

        using var initial = Adapter(("m", zeros(1, 3), zeros(2, 1)));
        var settings = new FederationSettings { ClientIds = ["c0", "c1"], ClientRanks = [1, 2], LoraRank = 1, LoraAlpha = 1 };
        using var strategy = Create("flora", initial, settings);
        strategy.ConfigureTrain(1, ["c0", "c1"]);
        var summary = strategy.AggregateTrain(1, [Update("c0", Adapter(("m", a1, b1)), 100), Update("c1", Adapter(("m", a2, b2)), 300)]);

        Assert.Equal(Bits(Matrix(new float[,] { { 0.25f, 0.75f, 0.25f }, { 2.0f, 0, 0.5f } })), Bits(strategy.MergedDelta[LoraKeys.DenseWeight("m")]));
        Assert.Equal(3, summary.Metrics["flora/stacked_rank"]);
        Assert.Empty(strategy.GlobalAdapter);
    }

    [Fact]
    public void One_client_merges_exactly_its_scaled_product()
    {
        using var g = new Generator(11);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        // α = 2r: s = 2 is a power of two, so s·B·A rounds exactly like B·(s·A).
        using var strategy = Create("flora", initial, new FederationSettings { LoraRank = 8, LoraAlpha = 16 });
        strategy.ConfigureTrain(1, ["only"]);
        using var trained = RandomAdapter(g, 8, Modules);
        strategy.AggregateTrain(1, [Update("only", trained, 9)]);
        foreach (var (path, _, _) in Modules)
        {
            var expected = trained[LoraKeys.B(path)].matmul(trained[LoraKeys.A(path)]).mul(2.0);
            Assert.Equal(Bits(expected), Bits(strategy.MergedDelta[LoraKeys.DenseWeight(path)]));
        }
    }

    [Fact]
    public void Heterogeneous_ranks_stack_to_R_88_and_equal_the_exact_weighted_product()
    {
        using var g = new Generator(12);
        var clients = ClientIds(5);
        var settings = new FederationSettings { ClientIds = clients, ClientRanks = HeteroRanks, LoraRank = 16, LoraAlpha = 32 };
        using var initial = RandomAdapter(g, 16, Modules, zeroB: true);
        using var strategy = Create("flora", initial, settings);
        var tasks = strategy.ConfigureTrain(1, clients);
        Assert.Equal(HeteroRanks, tasks.Select(t => t.LoraRank));
        Assert.Equal(HeteroRanks.Select(r => 2.0 * r), tasks.Select(t => t.LoraAlpha));
        Assert.All(tasks, t => Assert.Null(t.Adapter));

        long[] n = [10, 20, 30, 25, 15];
        var updates = clients.Select((id, k) => Update(id, RandomAdapter(g, HeteroRanks[k], Modules), n[k])).ToList();
        var summary = strategy.AggregateTrain(1, updates);
        Assert.Equal(88, summary.Metrics["flora/stacked_rank"]);

        var factors = updates.Select((u, k) => n[k] / 100.0 * 2.0).ToList();
        var (aStack, bStack) = FloraStacking.Stack(updates.Select(u => u.Adapter[LoraKeys.A("q")]).ToList(), updates.Select(u => u.Adapter[LoraKeys.B("q")]).ToList(), factors);
        Assert.Equal([88L, 24L], aStack.shape);
        Assert.Equal([20L, 88L], bStack.shape);

        foreach (var (path, _, _) in Modules)
        {
            var exact = updates.Select((u, k) => Product(u.Adapter, path, 2.0).mul(n[k] / 100.0)).Aggregate((x, y) => x.add(y));
            Assert.True(RelativeError(strategy.MergedDelta[LoraKeys.DenseWeight(path)], exact) < 1e-5);
        }
    }

    [Fact]
    public void Permuting_clients_consistently_leaves_the_product_unchanged()
    {
        using var g = new Generator(13);
        var a = Enumerable.Range(0, 4).Select(k => randn([k + 2, 9], generator: g)).ToList();
        var b = Enumerable.Range(0, 4).Select(k => randn([7, k + 2], generator: g)).ToList();
        double[] f = [0.1, 0.2, 0.3, 0.4];
        int[] perm = [2, 0, 3, 1];
        var (a1, b1) = FloraStacking.Stack(a, b, f);
        var (a2, b2) = FloraStacking.Stack(perm.Select(i => a[i]).ToList(), perm.Select(i => b[i]).ToList(), perm.Select(i => f[i]).ToList());
        Assert.True(MaxAbsDiff(b1.matmul(a1), b2.matmul(a2)) < 1e-6);
    }

    [Fact]
    public void FedIT_misses_the_exact_update_by_exactly_the_cross_term_identity()
    {
        using var g = new Generator(14);
        var clients = ClientIds(5);
        var settings = new FederationSettings { ClientIds = clients, LoraRank = 8, LoraAlpha = 8 };
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var flora = Create("flora", initial, settings);
        using var fedit = Create("fedavg", initial, settings);
        long[] n = [10, 20, 30, 25, 15];
        var updates = clients.Select((id, k) => Update(id, RandomAdapter(g, 8, Modules), n[k])).ToList();
        flora.ConfigureTrain(1, clients);
        fedit.ConfigureTrain(1, clients);
        flora.AggregateTrain(1, updates);
        fedit.AggregateTrain(1, updates);

        var p = n.Select(x => x / 100.0).ToArray();
        foreach (var (path, _, _) in Modules)
        {
            var exact = flora.MergedDelta[LoraKeys.DenseWeight(path)];
            var noisy = Product(fedit.GlobalAdapter, path, 1.0);
            var cross = zeros_like(noisy);
            for (var k = 0; k < 5; k++)
                for (var l = 0; l < 5; l++)
                {
                    var dB = updates[k].Adapter[LoraKeys.B(path)].to(ScalarType.Float64).sub(updates[l].Adapter[LoraKeys.B(path)].to(ScalarType.Float64));
                    var dA = updates[k].Adapter[LoraKeys.A(path)].to(ScalarType.Float64).sub(updates[l].Adapter[LoraKeys.A(path)].to(ScalarType.Float64));
                    cross.add_(dB.matmul(dA).mul(0.5 * p[k] * p[l]));
                }
            Assert.True(cross.norm().item<double>() > 0.1 * exact.to(ScalarType.Float64).norm().item<double>(), "the FedIT noise should be material for random clients");
            Assert.True(RelativeError(exact.to(ScalarType.Float64).sub(noisy), cross) < 1e-5);
        }
    }

    [Fact]
    public void Next_round_starts_fresh_on_the_cumulative_merged_base()
    {
        using var g = new Generator(15);
        var clients = ClientIds(2);
        using var initial = RandomAdapter(g, 4, Modules, zeroB: true);
        using var strategy = Create("flora", initial, new FederationSettings { ClientIds = clients, LoraRank = 4, LoraAlpha = 8 });
        var round1 = clients.Select(id => Update(id, RandomAdapter(g, 4, Modules), 10)).ToList();
        var round2 = clients.Select(id => Update(id, RandomAdapter(g, 4, Modules), 10)).ToList();
        strategy.ConfigureTrain(1, clients);
        strategy.AggregateTrain(1, round1);
        var tasks = strategy.ConfigureTrain(2, clients);
        Assert.All(tasks, t => Assert.Same(strategy.MergedDelta, t.BaseDelta));
        Assert.All(tasks, t => Assert.Null(t.Adapter));
        strategy.AggregateTrain(2, round2);

        var expected = round1.Concat(round2).Select(u => Product(u.Adapter, "q", 2.0).mul(0.5)).Aggregate((x, y) => x.add(y));
        Assert.True(RelativeError(strategy.MergedDelta[LoraKeys.DenseWeight("q")], expected) < 1e-5);
    }
}
