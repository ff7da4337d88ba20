using System.Text.Json;

namespace Confer.Federation.Reporting;

/// <summary>
/// <c>run.json</c>: what the experiment was and when it ran. Every field is optional so that a report can still be
/// made from a run that crashed before it wrote everything.
/// </summary>
internal sealed record RunInfo(
    string? Name, string? Strategy, long? Seed, int? Rounds, int? Clients, int? Threads, DateTimeOffset? Started, DateTimeOffset? Finished)
{
    public const string FileName = "run.json";

    /// <summary>Start to finish; null while the run is unfinished.</summary>
    public TimeSpan? WallTime => Started is { } s && Finished is { } f ? f - s : null;

    public static RunInfo Read(string runFolder)
    {
        var path = Path.Combine(runFolder, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{path} not found: '{runFolder}' is not a run folder. Pass the folder that `confer simulate` wrote (<output>/<name>).", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return ReportJson.Read<RunInfo>(doc.RootElement, path);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message}).", ex);
        }
    }
}
