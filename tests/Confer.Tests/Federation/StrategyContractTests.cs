using Confer.Federation;
using Confer.Federation.Strategies;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>The Strategy contract: registry, validation before mutation, round bookkeeping, rank plan, traffic ledger.</summary>
public sealed class StrategyContractTests
{
    private static readonly (string, long, long)[] Modules = [("q", 8, 6)];
    private static readonly FederationSettings Settings = new() { ClientIds = ClientIds(4), LoraRank = 4, LoraAlpha = 8 };

    [Fact]
    public void Registry_knows_every_strategy_by_name()
    {
        string[] expected = ["fedavg", "fedprox", "fedavgm", "fedadagrad", "fedadam", "fedyogi", "flora", "ffa-lora", "flexlora", "hetlora"];
        Assert.Equal(expected.Order(), StrategyRegistry.Names.Order());
        foreach (var name in expected)
        {
            using var strategy = StrategyRegistry.Create(name.ToUpperInvariant());
            Assert.Equal(name, strategy.Name);
        }
        var error = Assert.Throws<ArgumentException>(() => StrategyRegistry.Create("fedsgd"));
        Assert.Contains("flexlora", error.Message);
    }

    [Fact]
    public void Bad_updates_are_rejected_by_client_before_any_state_changes()
    {
        using var g = new Generator(71);
        using var initial = RandomAdapter(g, 4, Modules);
        using var strategy = Create("fedadam", initial, Settings);
        strategy.ConfigureTrain(1, ["c0", "c1"]);
        using var good = RandomAdapter(g, 4, Modules);
        using var wrongShape = RandomAdapter(g, 3, Modules);
        using var nan = RandomAdapter(g, 4, Modules);
        nan[LoraKeys.B("q")][0, 0] = tensor(float.NaN);
        using var before = strategy.ExportState();

        Assert.Equal("c1", Assert.Throws<InvalidClientUpdateException>(() => strategy.AggregateTrain(1, [Update("c0", good, 1), Update("c1", wrongShape, 1)])).ClientId);
        Assert.Contains("NaN", Assert.Throws<InvalidClientUpdateException>(() => strategy.AggregateTrain(1, [Update("c1", nan, 1)])).Message);
        Assert.Equal("c3", Assert.Throws<InvalidClientUpdateException>(() => strategy.AggregateTrain(1, [Update("c3", good, 1)])).ClientId);
        Assert.Throws<InvalidClientUpdateException>(() => strategy.AggregateTrain(1, [Update("c0", good, 0)]));
        Assert.Throws<InvalidClientUpdateException>(() => strategy.AggregateTrain(1, [Update("c0", good, 1), Update("c0", good, 2)]));
        AssertBitwiseEqual(before, strategy.ExportState());

        var summary = strategy.AggregateTrain(1, [Update("c0", good, 1)]);
        Assert.Equal(["c0"], summary.ClientIds);
        Assert.Throws<InvalidOperationException>(() => strategy.AggregateTrain(1, [Update("c0", good, 1)]));
    }

    [Fact]
    public void A_round_where_nobody_returned_leaves_the_state_alone()
    {
        using var g = new Generator(72);
        using var initial = RandomAdapter(g, 4, Modules);
        using var strategy = Create("fedyogi", initial, Settings);
        using var before = strategy.ExportState();
        strategy.ConfigureTrain(1, ["c0"]);
        var summary = strategy.AggregateTrain(1, []);
        Assert.Empty(summary.ClientIds);
        AssertBitwiseEqual(before, strategy.ExportState());
    }

    [Fact]
    public void Heterogeneous_ranks_follow_client_index_modulo_the_list()
    {
        using var g = new Generator(73);
        var settings = new FederationSettings { ClientIds = ClientIds(7), ClientRanks = [4, 32, 32, 16, 4], LoraRank = 16, LoraAlpha = 16 };
        using var initial = RandomAdapter(g, 32, Modules);
        using var strategy = Create("hetlora", initial, settings);
        Assert.Equal([4, 32, 32, 16, 4, 4, 32], strategy.ConfigureTrain(1, ClientIds(7)).Select(t => t.LoraRank));
        Assert.Throws<ArgumentException>(() => strategy.ConfigureTrain(2, ["stranger"]));
        var fedavg = Assert.Throws<ArgumentException>(() => Create("fedavg", initial, settings));
        Assert.Contains("same rank", fedavg.Message);
    }

    [Fact]
    public void Traffic_ledger_sums_what_was_sent_and_received()
    {
        using var g = new Generator(74);
        using var initial = RandomAdapter(g, 4, Modules);
        using var strategy = Create("fedavg", initial, Settings);
        var ledger = new TrafficLedger(1);
        var tasks = strategy.ConfigureTrain(1, ["c2", "c1", "c0"]);
        foreach (var task in tasks) ledger.RecordDownlink(task.ClientId, TransferCost.Of(task));
        // c2 drops out: it received the adapter but sends nothing back.
        foreach (var task in tasks.Take(2)) ledger.RecordUplink(task.ClientId, TransferCost.Of(task.Adapter));

        // One module of rank 4 with (d_in, d_out) = (8, 6): 4·(8 + 6) = 56 fp32 values per adapter.
        var perAdapter = new TransferCost(56, 224);
        Assert.Equal(["c0", "c1", "c2"], ledger.Entries.Select(e => e.ClientId));
        Assert.Equal(new ClientTraffic(1, "c2", perAdapter, TransferCost.Zero), ledger.Entries[2]);
        Assert.Equal(new TransferCost(3 * 56, 3 * 224), ledger.TotalDown);
        Assert.Equal(new TransferCost(2 * 56, 2 * 224), ledger.TotalUp);
    }
}
