using Confer.Federation;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>A scheduler's rank choice reaches the tasks through <see cref="Strategy.ConfigureTrain"/>, overriding client_ranks.</summary>
public sealed class AssignedRanksTests
{
    private static readonly (string, long, long)[] Modules = [("q", 12, 10)];

    [Theory]
    [InlineData("hetlora")]
    [InlineData("flexlora")]
    [InlineData("ffa-lora")]
    [InlineData("flora")]
    public void TasksAreBuiltAtTheAssignedRanksAndTheirUpdatesAreChecked(string name)
    {
        // client_ranks plans c0 at 8 and c1 at 2; the scheduler swaps them.
        var settings = new FederationSettings { ClientIds = ["c0", "c1"], ClientRanks = [8, 2], LoraRank = 8, LoraAlpha = 16 };
        using var g = new Generator(3);
        using var initial = RandomAdapter(g, 8, Modules);
        using var strategy = Create(name, initial, settings);
        var tasks = strategy.ConfigureTrain(1, ["c0", "c1"], new Dictionary<string, int> { ["c0"] = 2, ["c1"] = 8 });
        Assert.Equal([2, 8], tasks.Select(t => t.LoraRank));
        Assert.Equal([2.0 * 2, 2.0 * 8], tasks.Select(t => t.LoraAlpha)); // shared scale 16/8 = 2
        if (tasks[0].Adapter is { } a && a.TryGet(LoraKeys.B("q"), out var b)) Assert.Equal(2, b.shape[1]);
        // An update at the planned rank (8) is no longer what c0's task asked for.
        var wrong = Update("c0", RandomAdapter(g, 8, Modules), 10);
        Assert.Contains("task rank 2", Assert.Throws<InvalidClientUpdateException>(() => strategy.CheckUpdate(wrong)).Reason);
    }

    [Fact]
    public void AnAveragingStrategyRefusesARankOtherThanItsOne()
    {
        using var g = new Generator(3);
        using var initial = RandomAdapter(g, 8, Modules);
        using var strategy = Create("fedavg", initial, new FederationSettings { ClientIds = ["c0"], LoraRank = 8, LoraAlpha = 16 });
        var e = Assert.Throws<ArgumentException>(() => strategy.ConfigureTrain(1, ["c0"], new Dictionary<string, int> { ["c0"] = 4 }));
        Assert.Contains("trains every client at rank 8", e.Message);
        Assert.Throws<ArgumentException>(() => Create("hetlora", initial, new FederationSettings { ClientIds = ["c0", "c1"], ClientRanks = [8, 4], LoraRank = 8, LoraAlpha = 16 })
            .ConfigureTrain(1, ["c0"], new Dictionary<string, int> { ["c0"] = 9 }));
    }
}
