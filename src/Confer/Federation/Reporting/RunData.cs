namespace Confer.Federation.Reporting;

/// <summary>Everything a report shows, read from one run folder.</summary>
internal sealed record RunData(string Folder, RunInfo Info, RunMetrics Metrics, AllocationInfo? Allocation, IReadOnlyList<TrafficEntry> Traffic)
{
    public static RunData Load(string runFolder)
    {
        var folder = Path.GetFullPath(runFolder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Run folder '{folder}' does not exist. Pass the folder that `confer simulate` wrote (<output>/<name>).");
        return new RunData(folder, RunInfo.Read(folder), RunMetrics.Read(folder), AllocationInfo.Read(folder), TrafficEntry.Read(folder));
    }
}
