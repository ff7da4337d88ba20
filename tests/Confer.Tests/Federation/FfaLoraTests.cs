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
    public void Initial_adapter_must_be_at_the_largest_rank()
    {
        using var g = new Generator(25);
        using var initial = RandomAdapter(g, 16, Modules, zeroB: true);
        var error = Assert.Throws<ArgumentException>(() => Create("ffa-lora", initial, Settings));
        Assert.Contains("32", error.Message);
    }
}
