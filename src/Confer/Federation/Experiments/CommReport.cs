using System.Globalization;
using System.Text;
using Confer.Federation.Reporting;
using ScottPlot;
using Confer.Runtime;

namespace Confer.Federation.Experiments;

/// <summary>
/// The results of <see cref="CommExperiment"/>: <c>comm.csv</c> (one row per cell), <c>comm.md</c> (the same as a
/// Markdown table, with each cell's bytes and loss relative to the fp32 reference) and <c>comm.png</c> (total bytes
/// against final global test loss, one labelled point per cell).
/// </summary>
public static class CommReport
{
    /// <summary>The loss increase a codec may cost and still count as "as good as fp32" in the summary (2 %).</summary>
    public const double LossTolerance = 0.02;

    /// <summary>Writes the three files into <paramref name="folder"/>; returns the summary line.</summary>
    public static string Write(string folder, IReadOnlyList<CommRow> rows)
    {
        var reference = rows.Single(r => r.IsReference);
        AtomicFile.WriteAllText(Path.Combine(folder, "comm.csv"), Csv(rows));
        AtomicFile.WriteAllText(Path.Combine(folder, "comm.md"), Markdown(rows, reference));
        AtomicFile.WriteAllBytes(Path.Combine(folder, "comm.png"), Plot(rows));
        return Summary(rows, reference);
    }

    /// <summary>The chain with the fewest uplink bytes whose loss is within <see cref="LossTolerance"/> of the reference, in words.</summary>
    public static string Summary(IReadOnlyList<CommRow> rows, CommRow reference)
    {
        var good = rows.Where(r => !r.IsReference && r.FinalLoss is { } l && reference.FinalLoss is { } f && (l - f) / f <= LossTolerance)
            .OrderBy(r => r.UpBytes).FirstOrDefault();
        return good is null
            ? $"no cell stays within {LossTolerance:P0} of the fp32 reference's final loss {F(reference.FinalLoss)}"
            : $"fewest uplink bytes within {LossTolerance:P0} of fp32's loss: {good.Cell} — {Ratio(reference.UpBytes, good.UpBytes)} fewer uplink bytes " +
              $"({Mb(good.UpBytes)} vs {Mb(reference.UpBytes)}), {Ratio(reference.TotalBytes, good.TotalBytes)} fewer in total, " +
              $"final loss {F(good.FinalLoss)} vs {F(reference.FinalLoss)} ({Change(good.FinalLoss, reference.FinalLoss)})";
    }

    public static string Csv(IReadOnlyList<CommRow> rows)
    {
        var axes = rows[0].Cell.Values.Select(v => v.Key.Key).ToList();
        var text = new StringBuilder(string.Join(',', [.. axes, "reference", "rounds", "final_global_loss", "bytes_up", "bytes_down", "raw_bytes_up", "raw_bytes_down", "seconds", "run_folder"]) + "\n");
        foreach (var r in rows)
            text.AppendLine(string.Join(',', [.. r.Cell.Values.Select(v => Quote(v.Value)), r.IsReference ? "true" : "false", r.Rounds.ToString(CultureInfo.InvariantCulture),
                r.FinalLoss?.ToString("R", CultureInfo.InvariantCulture) ?? "", I(r.UpBytes), I(r.DownBytes), I(r.RawUpBytes), I(r.RawDownBytes),
                r.Seconds.ToString("F1", CultureInfo.InvariantCulture), Quote(r.RunFolder)]));
        return text.ToString();
    }

    public static string Markdown(IReadOnlyList<CommRow> rows, CommRow reference)
    {
        var axes = rows[0].Cell.Values.Select(v => v.Key.Key).ToList();
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", axes.Select(a => $"`{a}`")) + " | uplink | ×fewer up | downlink | total | ×fewer total | final global loss | vs fp32 | wall time |");
        text.AppendLine("|" + string.Concat(Enumerable.Repeat("---|", axes.Count)) + "---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            var values = r.Cell.Values.Select(v => $"`{v.Value}`");
            var loss = r.IsReference ? $"**{F(r.FinalLoss)}**" : F(r.FinalLoss);
            text.AppendLine("| " + string.Join(" | ", values) + $" | {Mb(r.UpBytes)} | {Ratio(reference.UpBytes, r.UpBytes)} | {Mb(r.DownBytes)} | {Mb(r.TotalBytes)} | " +
                            $"{Ratio(reference.TotalBytes, r.TotalBytes)} | {loss} | {(r.IsReference ? "reference" : Change(r.FinalLoss, reference.FinalLoss))} | {Duration(r.Seconds)} |");
        }
        return text.ToString();
    }

    public static byte[] Plot(IReadOnlyList<CommRow> rows)
    {
        PlotFonts.Configure();
        using var plot = new Plot();
        plot.Title("Bytes moved vs final global test loss");
        plot.XLabel("total bytes, uplink + downlink (MB, log scale)");
        plot.YLabel("final global test loss");
        var palette = new ScottPlot.Palettes.Category10();
        var groups = rows.Where(r => r.FinalLoss is not null && r.TotalBytes > 0).GroupBy(r => GroupOf(r)).ToList();
        for (var g = 0; g < groups.Count; g++)
        {
            var points = groups[g].ToList();
            var scatter = plot.Add.Scatter(points.Select(r => Math.Log10(r.TotalBytes / 1e6)).ToArray(), points.Select(r => r.FinalLoss!.Value).ToArray());
            scatter.LineWidth = 0;
            scatter.MarkerSize = 9;
            scatter.Color = palette.GetColor(g);
            scatter.LegendText = groups[g].Key;
            foreach (var r in points)
            {
                var label = plot.Add.Text(r.IsReference ? $"{Label(r)} (fp32 reference)" : Label(r), Math.Log10(r.TotalBytes / 1e6), r.FinalLoss!.Value);
                label.LabelFontSize = 10;
                label.LabelFontColor = palette.GetColor(g);
                label.LabelOffsetX = 6;
                label.LabelOffsetY = -6;
            }
        }
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var mb in new[] { 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000 })
            ticks.AddMajor(Math.Log10(mb), mb.ToString(CultureInfo.InvariantCulture));
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.ShowLegend(Edge.Bottom);
        plot.Axes.Margins(0.3, 0.12);
        var xs = groups.SelectMany(g => g).Select(r => Math.Log10(r.TotalBytes / 1e6)).ToList();
        if (xs.Count > 0)
        {
            // Room for the labels right of the points: a fraction of the span alone clips them when the span is narrow.
            var span = Math.Max(xs.Max() - xs.Min(), 0.1);
            plot.Axes.SetLimitsX(xs.Min() - 0.08 * span, xs.Max() + 0.45 * span + 0.1);
        }
        return plot.GetImageBytes(1000, 600, ImageFormat.Png);
    }

    /// <summary>Points are coloured by every axis but the uplink codec (e.g. by rank and downlink codec).</summary>
    private static string GroupOf(CommRow r)
    {
        var others = r.Cell.Values.Where(v => v.Key.Key != CommExperiment.UplinkKey).Select(v => $"{v.Key.Label}={v.Value.Replace(" ", "", StringComparison.Ordinal)}").ToList();
        return others.Count == 0 ? "cells" : string.Join(", ", others);
    }

    private static string Label(CommRow r) =>
        r.Cell.Values.FirstOrDefault(v => v.Key.Key == CommExperiment.UplinkKey).Value?.Replace(" ", "", StringComparison.Ordinal) ?? r.Cell.ToString();

    private static string Ratio(long reference, long bytes) => bytes > 0 ? (reference / (double)bytes).ToString("F1", CultureInfo.InvariantCulture) + "×" : "–";

    private static string Change(double? loss, double? reference) =>
        loss is { } l && reference is { } f ? ((l - f) / f).ToString("+0.00%;-0.00%;0.00%", CultureInfo.InvariantCulture) : "–";

    private static string Mb(long bytes) => (bytes / 1e6).ToString(bytes >= 10_000_000 ? "F1" : "F3", CultureInfo.InvariantCulture) + " MB";

    private static string F(double? loss) => loss?.ToString("F4", CultureInfo.InvariantCulture) ?? "–";

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Duration(double seconds) => TimeSpan.FromSeconds(seconds) is var t && t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";

    private static string Quote(string value) => value.Contains(',', StringComparison.Ordinal) || value.Contains('"', StringComparison.Ordinal) ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
