using Confer.Federation;
using Confer.Federation.Strategies;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.PublicApi.Tests;

/// <summary>
/// FedAvg with a twist, written against Confer's public API only: every tensor becomes the plain mean of the clients'
/// tensors, whatever their data sizes (the unweighted convention of Reddi et al.), and every client trains one local
/// step, told so through the task's free-form config. It records what it aggregated.
/// </summary>
internal sealed class UniformAverageStrategy : Strategy
{
    public const string RegistryName = "uniform-average";

    public override string Name => RegistryName;

    /// <summary>The clients of each <see cref="Aggregate"/> call, in order.</summary>
    public List<IReadOnlyList<string>> AggregatedClients { get; } = [];

    /// <summary>A copy of the global adapter after the last aggregation; it outlives the strategy and the test disposes it.</summary>
    public NamedTensors? LastAverage { get; private set; }

    protected override ClientTask BuildTask(int round, string clientId, int rank) =>
        new(round, clientId, GlobalAdapter.Clone(), null, rank, Ranks.AlphaFor(rank)) { Config = TaskConfig.Empty.With(TaskConfig.LocalSteps, 1) };

    protected override IReadOnlyDictionary<string, double> Aggregate(int round, IReadOnlyList<ClientContribution> contributions)
    {
        foreach (var name in GlobalAdapter.Names.ToList())
            GlobalAdapter.Replace(name, stack(contributions.Select(c => c.Adapter[name]).ToList()).mean([0]));
        AggregatedClients.Add(contributions.Select(c => c.ClientId).ToList());
        LastAverage?.Dispose();
        LastAverage = GlobalAdapter.Clone();
        return new Dictionary<string, double> { ["uniform-average/clients"] = contributions.Count };
    }
}
