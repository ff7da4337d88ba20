using Confer.Federation;
using Confer.Models;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>ExportState / ImportState: a strategy restored between rounds continues exactly like the original.</summary>
public sealed class StrategyStateTests
{
    private const string Head = "classifier.weight";
    private static readonly (string, long, long)[] Modules = [("q", 12, 10), ("v", 12, 6)];
    private static readonly int[] Ranks = [4, 8, 8, 2, 4];

    public static TheoryData<string> Names => new(Confer.Federation.Strategies.StrategyRegistry.Names);

    private static FederationSettings SettingsFor(string name) => name is "flora" or "ffa-lora" or "flexlora" or "hetlora"
        ? new() { ClientIds = ClientIds(5), ClientRanks = Ranks, LoraRank = 4, LoraAlpha = 8, Seed = 7 }
        : new() { ClientIds = ClientIds(5), LoraRank = 4, LoraAlpha = 8, Seed = 7 };

    private static NamedTensors InitialFor(string name)
    {
        using var g = new Generator(61);
        var adapter = RandomAdapter(g, SettingsFor(name).ClientRanks.DefaultIfEmpty(4).Max(), Modules, zeroB: true);
        adapter.Add(Head, randn([3, 12], generator: g));
        return adapter;
    }

    /// <summary>A stand-in for local training: the task's tensors (or a fresh init) plus seeded noise.</summary>
    private static ClientUpdate Train(ClientTask task, int seed)
    {
        using var g = new Generator((ulong)seed);
        var adapter = new NamedTensors();
        foreach (var (path, dIn, dOut) in Modules)
        {
            // A module the task has no tensors for starts fresh (FLoRA): random A, zero B.
            var a = task.Adapter!.TryGet(LoraKeys.A(path), out var givenA) ? givenA : randn([task.LoraRank, dIn], generator: g);
            var b = task.Adapter.TryGet(LoraKeys.B(path), out var givenB) ? givenB : zeros(dOut, task.LoraRank);
            if (!task.FreezeLoraA) adapter.Add(LoraKeys.A(path), a.add(randn(a.shape, generator: g), alpha: 0.1));
            adapter.Add(LoraKeys.B(path), b.add(randn(b.shape, generator: g), alpha: 0.1));
        }
        adapter.Add(Head, task.Adapter![Head].add(randn([3, 12], generator: g), alpha: 0.1));
        return Update(task.ClientId, adapter, 10 + seed % 7);
    }

    private static void RunRound(Strategy strategy, int round, string[] clients) =>
        strategy.AggregateTrain(round, strategy.ConfigureTrain(round, clients).Select((t, k) => Train(t, 100 * round + k)).ToList());

    [Theory]
    [MemberData(nameof(Names))]
    public void A_restored_strategy_continues_exactly(string name)
    {
        using var initial = InitialFor(name);
        using var original = Create(name, initial, SettingsFor(name));
        RunRound(original, 1, ["c0", "c2", "c4"]);
        RunRound(original, 2, ["c1", "c2"]);

        using var state = original.ExportState();
        using var restored = Create(name, initial, SettingsFor(name));
        restored.ImportState(state);
        AssertBitwiseEqual(state, restored.ExportState());

        string[] next = ["c1", "c3", "c4"];
        var tasksA = original.ConfigureTrain(3, next);
        var tasksB = restored.ConfigureTrain(3, next);
        foreach (var (a, b) in tasksA.Zip(tasksB))
        {
            Assert.Equal((a.LoraRank, a.LoraAlpha, a.FreezeLoraA, a.ProximalMu, TransferCost.Of(a)), (b.LoraRank, b.LoraAlpha, b.FreezeLoraA, b.ProximalMu, TransferCost.Of(b)));
            Assert.Equal(a.Config, b.Config);
            AssertBitwiseEqual(a.Adapter!, b.Adapter!);
        }
        original.AggregateTrain(3, tasksA.Select((t, k) => Train(t, 300 + k)).ToList());
        restored.AggregateTrain(3, tasksB.Select((t, k) => Train(t, 300 + k)).ToList());
        AssertBitwiseEqual(original.GlobalAdapter, restored.GlobalAdapter);
        AssertBitwiseEqual(original.MergedDelta, restored.MergedDelta);
        AssertBitwiseEqual(original.ExportState(), restored.ExportState());
    }

    [Fact]
    public void State_from_another_strategy_is_refused()
    {
        using var initial = InitialFor("fedadam");
        using var fedadam = Create("fedadam", initial, SettingsFor("fedadam"));
        using var fedavg = Create("fedavg", initial, SettingsFor("fedavg"));
        var error = Assert.Throws<ArgumentException>(() => fedavg.ImportState(fedadam.ExportState()));
        Assert.Contains("fedadam/", error.Message);
    }
}
