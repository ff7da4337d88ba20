using Confer.Federation;
using Confer.Models;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>algorithms.md §4 FFA-LoRA: frozen shared A, B-only averaging, exact with heterogeneous ranks.</summary>
public sealed class FfaLoraTests
{
    private static readonly int[] Ranks = [4, 32, 32, 16, 4];
    private static readonly (string, long, long)[] Modules = [("q", 40, 24), ("v", 40, 16)];
    private static readonly FederationSettings Settings = new() { ClientIds = ClientIds(5), ClientRanks = Ranks, LoraRank = 16, LoraAlpha = 32 };

    [Fact]
    public void Tasks_freeze_the_shared_A_cut_to_each_rank()
    {
        using var g = new Generator(21);
        using var initial = RandomAdapter(g, 32, Modules, zeroB: true);
        using var strategy = Create("ffa-lora", initial, Settings);
        var tasks = strategy.ConfigureTrain(1, ClientIds(5));
        foreach (var (task, rank) in tasks.Zip(Ranks))
        {
            Assert.True(task.FreezeLoraA);
            Assert.Equal((rank, 2.0 * rank), (task.LoraRank, task.LoraAlpha));
            Assert.Equal(Bits(initial[LoraKeys.A("q")].narrow(0, 0, rank)), Bits(task.Adapter![LoraKeys.A("q")]));
            Assert.Equal([24L, rank], task.Adapter[LoraKeys.B("q")].shape);
        }
    }

    [Fact]
    public void Averaging_only_B_is_exact_for_heterogeneous_ranks()
    {
        using var g = new Generator(22);
        using var initial = RandomAdapter(g, 32, Modules, zeroB: true);
        using var strategy = Create("ffa-lora", initial, Settings);
        var tasks = strategy.ConfigureTrain(1, ClientIds(5));
        long[] n = [5, 10, 40, 25, 20];
        var updates = tasks.Select((t, k) =>
        {
            var adapter = new NamedTensors();
            foreach (var (path, _, dOut) in Modules)
            {
                // Client 1 leaves the frozen A out; the others send it back unchanged.
                if (k != 1) adapter.Add(LoraKeys.A(path), t.Adapter![LoraKeys.A(path)].clone());
                adapter.Add(LoraKeys.B(path), randn([dOut, t.LoraRank], generator: g));
            }
            return Update(t.ClientId, adapter, n[k]);
        }).ToList();
        var summary = strategy.AggregateTrain(1, updates);

        foreach (var (path, _, _) in Modules)
        {
            var aMax = initial[LoraKeys.A(path)].to(ScalarType.Float64);
            var exact = updates.Select((u, k) =>
                u.Adapter[LoraKeys.B(path)].to(ScalarType.Float64).matmul(aMax.narrow(0, 0, Ranks[k])).mul(2.0 * n[k] / 100)).Aggregate((x, y) => x.add(y));
            Assert.True(RelativeError(Product(strategy.GlobalAdapter, path, strategy.GlobalLoraScale), exact) < 1e-6);
            Assert.Equal(Bits(initial[LoraKeys.A(path)]), Bits(strategy.GlobalAdapter[LoraKeys.A(path)]));
        }
        Assert.Equal(updates.Select(u => u.ClientId), summary.ClientIds);
    }

    [Fact]
    public void A_client_that_trained_A_is_rejected_before_anything_changes()
    {
        using var g = new Generator(24);
        using var initial = RandomAdapter(g, 32, Modules, zeroB: true);
        using var strategy = Create("ffa-lora", initial, Settings);
        var tasks = strategy.ConfigureTrain(1, ["c0", "c1"]);
        tasks[1].Adapter![LoraKeys.A("v")].add_(1e-3);
        var before = strategy.ExportState();
        var error = Assert.Throws<InvalidClientUpdateException>(() =>
            strategy.AggregateTrain(1, [Update("c0", tasks[0].Adapter!, 1), Update("c1", tasks[1].Adapter!, 1)]));
        Assert.Equal("c1", error.ClientId);
        Assert.Contains(LoraKeys.A("v"), error.Message);
        AssertBitwiseEqual(before, strategy.ExportState());
        strategy.AggregateTrain(1, [Update("c0", tasks[0].Adapter!, 1)]);
    }

    [Fact]
    public void Mixed_ranks_that_return_B_unchanged_leave_the_global_B_unchanged()
    {
        // algorithms.md §4 pitfall: ranks (1, 2), p = (½, ½), B = [1, 1] returned unchanged. Zero-padding the rank-1
        // client's missing column gives [1, 0.5], then [1, 0.25] …; untrained columns must stay as they are.
        using var initial = Adapter(("m", Matrix(new float[,] { { 0.3f, -0.2f }, { 0.5f, 0.1f } }), Matrix(new float[,] { { 1, 1 } })));
        using var strategy = Create("ffa-lora", initial, new FederationSettings { ClientIds = ["c0", "c1"], ClientRanks = [1, 2], LoraRank = 2, LoraAlpha = 2 });
        for (var round = 1; round <= 3; round++)
        {
            var tasks = strategy.ConfigureTrain(round, ["c0", "c1"]);
            strategy.AggregateTrain(round, tasks.Select(t => Update(t.ClientId, t.Adapter!, 10)).ToList());
            Assert.Equal([1f, 1f], strategy.GlobalAdapter[LoraKeys.B("m")].data<float>().ToArray());
        }
    }

    [Fact]
    public void A_round_without_a_high_rank_client_keeps_the_columns_only_it_trains()
    {
        using var initial = Adapter(("m", Matrix(new float[,] { { 0.3f, -0.2f }, { 0.5f, 0.1f } }), Matrix(new float[,] { { 1, 2 } })));
        using var strategy = Create("ffa-lora", initial, new FederationSettings { ClientIds = ["c0", "c1"], ClientRanks = [1, 2], LoraRank = 2, LoraAlpha = 2 });
        strategy.ConfigureTrain(1, ["c0"]);
        strategy.AggregateTrain(1, [Update("c0", Adapter(("m", Matrix(new float[,] { { 0.3f, -0.2f } }), Matrix(new float[,] { { 4 } }))), 10)]);
        Assert.Equal([4f, 2f], strategy.GlobalAdapter[LoraKeys.B("m")].data<float>().ToArray());
    }

    [Fact]
    public void Several_rounds_with_mixed_ranks_move_B_by_the_weighted_average_of_the_updates()
    {
        // Oracle, column by column in fp64: column j moves by Σ p_k (B_k[:, j] − B[:, j]) over the clients whose
        // rank covers j (a client that did not train a column leaves it as it was); the product then moves by
        // exactly Σ p_k s (B_k − B[:, :r_k]) A[:r_k], each client's own change.
        int[] ranks = [1, 2, 4];
        long[] n = [30, 50, 20];
        const int dOut = 3, dIn = 5, rMax = 4;
        using var g = new Generator(26);
        using var initial = RandomAdapter(g, rMax, [("m", dIn, dOut)], zeroB: true);
        using var strategy = Create("ffa-lora", initial, new FederationSettings { ClientIds = ClientIds(3), ClientRanks = ranks, LoraRank = 4, LoraAlpha = 8 });
        var expected = new double[dOut, rMax];
        var a = initial[LoraKeys.A("m")].to(ScalarType.Float64);
        int[][] rounds = [[0, 1, 2], [0, 1], [1, 2], [0]];
        for (var round = 1; round <= rounds.Length; round++)
        {
            var selected = rounds[round - 1];
            var tasks = strategy.ConfigureTrain(round, selected.Select(k => $"c{k}").ToList());
            var before = Product(strategy.GlobalAdapter, "m", strategy.GlobalLoraScale);
            var total = selected.Sum(k => (double)n[k]);
            var trained = tasks.Select((t, i) =>
            {
                var b = t.Adapter![LoraKeys.B("m")].add(randn([dOut, t.LoraRank], generator: g));
                return (k: selected[i], b, update: Update(t.ClientId, Adapter(("m", t.Adapter[LoraKeys.A("m")], b)), n[selected[i]]));
            }).ToList();
            var exactChange = zeros(dOut, dIn, dtype: ScalarType.Float64);
            var next = (double[,])expected.Clone();
            foreach (var (k, b, _) in trained)
            {
                var p = n[k] / total;
                var values = b.to(ScalarType.Float64).data<double>().ToArray();
                for (var i = 0; i < dOut; i++)
                    for (var j = 0; j < ranks[k]; j++)
                        next[i, j] += p * (values[i * ranks[k] + j] - expected[i, j]);
                var start = tensor(Enumerable.Range(0, dOut * ranks[k]).Select(x => expected[x / ranks[k], x % ranks[k]]).ToArray(), [dOut, ranks[k]]);
                exactChange.add_(b.to(ScalarType.Float64).sub(start).matmul(a.narrow(0, 0, ranks[k])).mul(p * 2.0));
            }
            expected = next;
            strategy.AggregateTrain(round, trained.Select(x => x.update).ToList());

            var global = strategy.GlobalAdapter[LoraKeys.B("m")].to(ScalarType.Float64).data<double>().ToArray();
            for (var i = 0; i < dOut; i++)
                for (var j = 0; j < rMax; j++)
                    Assert.Equal(expected[i, j], global[i * rMax + j], 1e-5);
            var change = Product(strategy.GlobalAdapter, "m", strategy.GlobalLoraScale).sub(before);
            Assert.True(RelativeError(change, exactChange) < 1e-5, $"round {round}");
        }
    }

    [Fact]
    public void Initial_adapter_must_be_at_the_largest_rank()
    {
        using var g = new Generator(25);
        using var initial = RandomAdapter(g, 16, Modules, zeroB: true);
        var error = Assert.Throws<ArgumentException>(() => Create("ffa-lora", initial, Settings));
        Assert.Contains("32", error.Message);
    }
}
