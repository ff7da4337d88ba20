using System.Text.Json;
using Confer.Configuration;
using Confer.Federation.Allocation;
using Confer.Federation.Scheduling;
using Confer.Federation.Simulation;
using Confer.Federation.Strategies;
using Confer.Models;

namespace Confer.PublicApi.Tests;

/// <summary>
/// A strategy, a scheduler and an allocator written and registered outside Confer, selected by name like Confer's own
/// and run through <see cref="SimulationEngine"/> on the project's base model and Dolly data.
/// </summary>
public sealed class ExtensionPointTests
{
    private static readonly List<UniformAverageStrategy> Created = [];

    // Registries are process-wide: register once, however many tests ask.
    private static readonly Lazy<bool> Registered = new(() =>
    {
        StrategyRegistry.Register(UniformAverageStrategy.RegistryName, () =>
        {
            var strategy = new UniformAverageStrategy();
            lock (Created) Created.Add(strategy);
            return strategy;
        });
        SchedulerRegistry.Register(FirstTwoScheduler.RegistryName, _ => new FirstTwoScheduler());
        AllocatorRegistry.Register(AlternatingAllocator.RegistryName, _ => new AlternatingAllocator());
        return true;
    });

    [Fact]
    public void A_simulation_uses_a_strategy_scheduler_and_allocator_registered_from_outside()
    {
        Assert.True(Registered.Value);
        var output = Directory.CreateTempSubdirectory("confer-public-api-").FullName;
        try
        {
            var settings = new SimulationSettings
            {
                Name = "custom", Output = output, Model = RepoPaths.Of("models", "confer-base"),
                Data = RepoPaths.Of("data", "dolly-15k", "shepherd-10clients"),
                TestData = RepoPaths.Of("data", "dolly-15k", "shepherd-10clients", "global_test.json"),
                Strategy = UniformAverageStrategy.RegistryName, Scheduler = FirstTwoScheduler.RegistryName,
                Allocation = AlternatingAllocator.RegistryName, Clients = 3, Rounds = 2, MaxClientRecords = 16,
                LocalTestFraction = 0, LocalSteps = 2, MicroBatchSize = 4, CutoffLen = 128, LoraRank = 4, LoraAlpha = 8,
                Baselines = [], EvalBatchSize = 16,
            };
            var result = SimulationEngine.Run(settings, Path.Combine(output, "custom"), resume: false, ct: TestContext.Current.CancellationToken);

            var strategy = Assert.Single(Created);
            string[] firstTwo = ["client_0", "client_1"];
            Assert.Equal([firstTwo, firstTwo], strategy.AggregatedClients);
            var rounds = new RunFolder(result.RunFolder).Rounds().Where(r => r.Round > 0).ToList();
            Assert.Equal(2, rounds.Count);
            Assert.All(rounds, r => Assert.Equal(firstTwo, r.Aggregated));
            // The strategy's own metric reaches the record, and its config knob reached the clients: one step each,
            // though the run's local_steps is 2.
            Assert.All(rounds, r => Assert.Equal(2, r.Metrics["uniform-average/clients"]));
            Assert.All(rounds, r => Assert.Equal(1, r.Metrics["train_steps"]));

            using (var allocation = JsonDocument.Parse(File.ReadAllText(Path.Combine(result.RunFolder, "allocation.json"))))
            {
                Assert.Equal(AlternatingAllocator.RegistryName, allocation.RootElement.GetProperty("method").GetString());
                Assert.Equal(3, allocation.RootElement.GetProperty("clients").GetArrayLength());
            }

            // What the engine saved as the final adapter is what the custom Aggregate produced last.
            using var average = strategy.LastAverage!;
            using var saved = Safetensors.Load(Path.Combine(result.RunFolder, "final", "adapter", "adapter_model.safetensors"));
            Assert.Equal(average.Names.Order(), saved.Names.Order());
            foreach (var (name, tensor) in average) Assert.True(tensor.equal(saved[name]).all().item<bool>(), name);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void Registries_refuse_taken_and_blank_names()
    {
        Assert.True(Registered.Value);
        Assert.Contains("already registered", Assert.Throws<ArgumentException>(() => StrategyRegistry.Register("FedAvg", () => new UniformAverageStrategy())).Message);
        Assert.Contains("already registered", Assert.Throws<ArgumentException>(() => SchedulerRegistry.Register(FirstTwoScheduler.RegistryName, _ => new FirstTwoScheduler())).Message);
        Assert.Contains("already registered", Assert.Throws<ArgumentException>(() => AllocatorRegistry.Register("dirichlet", _ => new AlternatingAllocator())).Message);
        foreach (var bad in new[] { "", "  ", " padded" })
        {
            Assert.Throws<ArgumentException>(() => StrategyRegistry.Register(bad, () => new UniformAverageStrategy()));
            Assert.Throws<ArgumentException>(() => SchedulerRegistry.Register(bad, _ => new FirstTwoScheduler()));
            Assert.Throws<ArgumentException>(() => AllocatorRegistry.Register(bad, _ => new AlternatingAllocator()));
        }
    }

    [Fact]
    public void An_unknown_name_in_the_settings_lists_the_registered_ones()
    {
        Assert.True(Registered.Value);
        var error = Assert.Throws<ConfigException>(() => new SimulationSettings { Strategy = "uniform-avg" }.Validate());
        Assert.Contains(UniformAverageStrategy.RegistryName, error.Message);
    }
}
