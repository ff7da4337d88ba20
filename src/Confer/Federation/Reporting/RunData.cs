using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Federation.Simulation;

namespace Confer.Federation.Reporting;

/// <summary>Everything a report shows, read from one run folder (<c>confer simulate</c>) or server state folder (<c>confer server</c>).</summary>
/// <param name="Folder">The folder read.</param>
/// <param name="Info">What the run was and when it ran.</param>
/// <param name="Metrics">Rounds, client evaluations, baselines.</param>
/// <param name="Allocation">How data was split (simulations only).</param>
/// <param name="Traffic">Per-client traffic per round.</param>
/// <param name="Settings">The run's experiment keys and values (empty when the folder has no config).</param>
/// <param name="ClientIds">Every client of the run, also those never selected.</param>
internal sealed record RunData(string Folder, RunInfo Info, RunMetrics Metrics, AllocationInfo? Allocation, IReadOnlyList<TrafficEntry> Traffic,
    IReadOnlyDictionary<string, string> Settings, IReadOnlyList<string> ClientIds)
{
    private const string ConfigFile = "config.yaml";

    public static RunData Load(string runFolder)
    {
        var folder = Path.GetFullPath(runFolder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Run folder '{folder}' does not exist. Pass the folder that `confer simulate` wrote (<output>/<name>) or a server's state folder.");
        if (File.Exists(Path.Combine(folder, ServerStore.FileName)) && !File.Exists(Path.Combine(folder, RunInfo.FileName))) return FromServerState(folder);
        var metrics = RunMetrics.Read(folder);
        var allocation = AllocationInfo.Read(folder);
        var traffic = TrafficEntry.Read(folder);
        var configPath = Path.Combine(folder, ConfigFile);
        var settings = File.Exists(configPath) ? SettingsOf(ConfigBinder.Bind<SimulationSettings>(configPath, [])) : new Dictionary<string, string>();
        IReadOnlyList<string> clients = allocation is { Clients.Count: > 0 }
            ? [.. allocation.Clients.Select(c => c.Client)]
            : [.. traffic.Select(t => t.Client).Distinct().Order(ClientIdComparer.Instance)];
        return new RunData(folder, RunInfo.Read(folder), metrics, allocation, traffic, settings, clients);
    }

    /// <summary>
    /// A deployed run: its records come from server.db, written by the same round driver as a simulation's, so the
    /// report is the same page. A server holds no client data, so there is no allocation and there are no baselines.
    /// </summary>
    private static RunData FromServerState(string folder)
    {
        using var store = ServerStore.Open(folder);
        var yaml = store.GetMeta(FederationServer.RunConfigKey)
                   ?? throw new InvalidDataException($"{Path.Combine(folder, ServerStore.FileName)}: no run has started in this state folder yet.");
        var run = ConfigBinder.BindText<SimulationSettings>(yaml, $"{folder}: the run config in server.db");
        var records = store.Rounds();
        var info = new RunInfo(run.Name, run.Strategy, run.Seed, run.Rounds, store.Clients().Count, null,
            Stamp(store.GetMeta(FederationServer.StartedKey)), Stamp(store.GetMeta(ServerStore.FinishedKey)));
        var metrics = new RunMetrics([.. records.Select(RoundEntry.From)],
            [.. records.SelectMany(r => r.ClientEvaluations.Select(e => new ClientEvalEntry(r.Round, e.ClientId, e.Loss, e.Examples)))], []);
        var traffic = records.SelectMany(r => r.Traffic)
            .Select(t => new TrafficEntry(t.Round, t.ClientId, t.Down.Parameters, t.Down.Bytes, t.Up.Parameters, t.Up.Bytes)).ToList();
        return new RunData(folder, info, metrics, null, traffic, SettingsOf(run), [.. store.Clients().Select(c => c.Id)]);
    }

    private static Dictionary<string, string> SettingsOf(SimulationSettings s) =>
        ConfigBinder.Describe(s).ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal);

    private static DateTimeOffset? Stamp(string? utc) => utc is null ? null : new DateTimeOffset(StoreTime.Parse(utc));
}
