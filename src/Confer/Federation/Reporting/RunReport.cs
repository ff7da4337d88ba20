using Confer.Runtime;
namespace Confer.Federation.Reporting;

/// <summary>
/// Turns a finished (or interrupted) run folder into <c>report.html</c>, one self-contained page with the run summary,
/// the plots inlined as SVG and the tables, and writes the same plots as PNG files under <c>plots/</c> for papers and
/// slides. It only reads the files the simulation wrote, so it can be re-run at any time, also on an unfinished run.
/// </summary>
public static class RunReport
{
    /// <summary>The report's file name inside the run folder.</summary>
    public const string FileName = "report.html";

    /// <summary>The folder, inside the run folder, that receives the PNG plots.</summary>
    public const string PlotsFolder = "plots";

    /// <summary>
    /// Reads <c>run.json</c> (required), <c>metrics.jsonl</c>, <c>allocation.json</c> and <c>traffic.csv</c> (optional)
    /// from <paramref name="runFolder"/> and writes <c>report.html</c> and <c>plots/*.png</c> there; returns the
    /// report's full path. Plots without data (no baselines, no allocation) are left out and the page says why.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder has no run.json, so it is not a run folder.</exception>
    /// <exception cref="InvalidDataException">A run file is malformed; the message names the file, line and field.</exception>
    public static string Write(string runFolder)
    {
        var run = RunData.Load(runFolder);
        using var figures = ReportFigures.Build(run);
        foreach (var figure in figures.All)
            AtomicFile.WriteAllBytes(Path.Combine(run.Folder, PlotsFolder, figure.FileName), figure.Png());
        var path = Path.Combine(run.Folder, FileName);
        AtomicFile.WriteAllText(path, ReportHtml.Render(run, figures, DateTimeOffset.UtcNow));
        return path;
    }
}
