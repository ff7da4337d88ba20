using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Federation.Simulation;

namespace Confer.Federation.Reporting;

/// <summary>Everything a report shows, read from one run folder (<c>confer simulate</c>) or server state folder (<c>confer server</c>).</summary>
internal sealed record RunData(string Folder, RunInfo Info, RunMetrics Metrics, AllocationInfo? Allocation, IReadOnlyList<TrafficEntry> Traffic)
{
    public static RunData Load(string runFolder)
    {
        var folder = Path.GetFullPath(runFolder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Run folder '{folder}' does not exist. Pass the folder that `confer simulate` wrote (<output>/<name>) or a server's state folder.");
        if (File.Exists(Path.Combine(folder, ServerStore.FileName)) && !File.Exists(Path.Combine(folder, RunInfo.FileName))) return FromServerState(folder);
        return new RunData(folder, RunInfo.Read(folder), RunMetrics.Read(folder), AllocationInfo.Read(folder), TrafficEntry.Read(folder));
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
            [.. records.SelectMany(r => r.ClientEvaluations.Select(e => new ClientEvalEntry(r.Round, e.ClientId, e.Loss, e.Examples)))], [])
        {
            ClientTimes = [.. records.SelectMany(r => r.Timings.Select(t => ClientTimeEntry.From(r.Round, t)))],
        };
        var traffic = records.SelectMany(r => r.Traffic)
            .Select(t => new TrafficEntry(t.Round, t.ClientId, t.Down.Parameters, t.Down.Bytes, t.Up.Parameters, t.Up.Bytes)).ToList();
        return new RunData(folder, info, metrics, null, traffic);
    }

    private static DateTimeOffset? Stamp(string? utc) => utc is null ? null : new DateTimeOffset(StoreTime.Parse(utc));
}
