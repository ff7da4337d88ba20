using System.Globalization;
using System.Text;
using Confer.Federation.Reporting;
using ScottPlot;
using Confer.Runtime;

namespace Confer.Federation.Experiments;

/// <summary>One (strategy, ranks) pair over its seeds: mean and sample standard deviation of the final loss and bytes per round.</summary>
public sealed record StrategySummary(string Strategy, string Ranks, IReadOnlyList<StrategyRow> Runs)
{
    public IReadOnlyList<StrategyRow> Finished => [.. Runs.Where(r => r.Refusal is null && r.FinalLoss is not null)];

    public string? Refusal => Runs.Select(r => r.Refusal).FirstOrDefault(r => r is not null);

    public (double Mean, double? Std)? Loss => Stats(Finished.Select(r => r.FinalLoss!.Value));

    public (double Mean, double? Std)? BytesPerRound => Stats(Finished.Select(r => r.BytesPerRound));

    /// <summary>
    /// Whether the mean losses of two pairs differ by less than twice the standard error of their difference
    /// (√(s₁²/n₁ + s₂²/n₂)), i.e. whether seed noise alone could explain it; null with fewer than two seeds on a side.
    /// </summary>
    public bool? WithinNoiseOf(StrategySummary other)
    {
        if (Loss is not { Std: { } s1 } a || other.Loss is not { Std: { } s2 } b) return null;
        var se = Math.Sqrt(s1 * s1 / Finished.Count + s2 * s2 / other.Finished.Count);
        return Math.Abs(a.Mean - b.Mean) < 2 * se;
    }

    internal static (double Mean, double? Std)? Stats(IEnumerable<double> values)
    {
        var v = values.ToList();
        if (v.Count == 0) return null;
        var mean = v.Average();
        return (mean, v.Count < 2 ? null : Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)));
    }
}

/// <summary>
/// The results of <see cref="StrategyExperiment"/>: <c>strategies.csv</c> (one row per run), <c>strategies.md</c>
/// (mean ± std over seeds per strategy and rank setting, each compared with FedAvg at one rank, and the FLoRA check in
/// words) and <c>strategies.png</c> (final loss per strategy with ±1 std bars, one colour per rank setting).
/// </summary>
public static class StrategyReport
{
    /// <summary>Groups the runs into one summary per (strategy, ranks), in grid order.</summary>
    public static IReadOnlyList<StrategySummary> Summarise(IReadOnlyList<StrategyRow> rows) =>
        [.. rows.GroupBy(r => (r.Cell[StrategyExperiment.StrategyKey], r.Cell[StrategyExperiment.RanksKey]))
            .Select(g => new StrategySummary(g.Key.Item1, g.Key.Item2, [.. g]))];

    /// <summary>Writes the three files into <paramref name="folder"/>; returns the Markdown.</summary>
    public static string Write(string folder, IReadOnlyList<StrategyRow> rows, int baseRank)
    {
        var summaries = Summarise(rows);
        var markdown = Markdown(summaries, baseRank);
        AtomicFile.WriteAllText(Path.Combine(folder, "strategies.csv"), Csv(rows));
        AtomicFile.WriteAllText(Path.Combine(folder, "strategies.md"), markdown);
        AtomicFile.WriteAllBytes(Path.Combine(folder, "strategies.png"), Plot(summaries, baseRank));
        return markdown;
    }

    public static string Csv(IReadOnlyList<StrategyRow> rows)
    {
        var text = new StringBuilder("strategy,client_ranks,seed,rounds,final_global_loss,bytes_up,bytes_down,bytes_per_round,seconds,refused,run_folder\n");
        foreach (var r in rows)
            text.AppendLine(string.Join(',', Quote(r.Cell[StrategyExperiment.StrategyKey]), Quote(r.Cell[StrategyExperiment.RanksKey]), r.Cell[StrategyExperiment.SeedKey],
                I(r.Rounds), r.FinalLoss?.ToString("R", CultureInfo.InvariantCulture) ?? "", I(r.UpBytes), I(r.DownBytes),
                r.BytesPerRound.ToString("F0", CultureInfo.InvariantCulture), r.Seconds.ToString("F1", CultureInfo.InvariantCulture),
                Quote(r.Refusal ?? ""), Quote(r.RunFolder)));
        return text.ToString();
    }

    public static string Markdown(IReadOnlyList<StrategySummary> summaries, int baseRank)
    {
        var reference = summaries.FirstOrDefault(s => s.Strategy == "fedavg" && IsHomogeneous(s.Ranks) && s.Loss is not null);
        var text = new StringBuilder();
        text.AppendLine($"| strategy | client ranks | seeds | final global test loss (mean ± std) | vs FedAvg r={baseRank} | within seed noise? | bytes per round, up + down (mean ± std) | wall time (all seeds) |");
        text.AppendLine("|---|---|---:|---:|---:|---|---:|---:|");
        foreach (var s in summaries)
        {
            var ranks = RanksLabel(s.Ranks, baseRank);
            if (s.Loss is not { } loss)
            {
                text.AppendLine($"| {s.Strategy} | {ranks} | 0 | refused: {Escape(s.Refusal ?? "no finished run")} | | | | |");
                continue;
            }
            var same = reference is not null && ReferenceEquals(s, reference);
            var delta = reference?.Loss is { } r && !same ? (loss.Mean - r.Mean).ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture) : same ? "reference" : "–";
            var noise = reference is null || same ? "" : s.WithinNoiseOf(reference) switch { true => "yes", false => "no", null => "unknown (< 2 seeds)" };
            text.AppendLine($"| {s.Strategy} | {ranks} | {s.Finished.Count} | {PlusMinus(loss, "F4", 1)} | {delta} | {noise} | " +
                            $"{PlusMinus(s.BytesPerRound!.Value, "F3", 1e6)} MB | {Duration(s.Finished.Sum(r => r.Seconds))} |");
        }
        text.AppendLine();
        text.AppendLine("Within seed noise: the two means differ by less than twice the standard error of their difference, √(s₁²/n₁ + s₂²/n₂).");
        if (FloraCheck(summaries) is { } flora) text.AppendLine().AppendLine(flora);
        return text.ToString();
    }

    /// <summary>The FLoRA paper's claim — stacking at least as good as averaging with heterogeneous ranks — against these numbers, in words.</summary>
    public static string? FloraCheck(IReadOnlyList<StrategySummary> summaries)
    {
        var flora = summaries.FirstOrDefault(s => s.Strategy == "flora" && !IsHomogeneous(s.Ranks) && s.Loss is not null);
        if (flora is null) return null;
        var lines = new List<string>();
        foreach (var other in summaries.Where(s => s.Strategy is "hetlora" or "flexlora" or "ffa-lora" && s.Ranks == flora.Ranks && s.Loss is not null))
            lines.Add(Compare(flora, other, "with the same heterogeneous ranks"));
        if (summaries.FirstOrDefault(s => s.Strategy == "fedavg" && IsHomogeneous(s.Ranks) && s.Loss is not null) is { } fedavg)
            lines.Add(Compare(flora, fedavg, "at one rank for every client (FedAvg cannot average heterogeneous ranks)"));
        return lines.Count == 0 ? null : "FLoRA's claim (stacking is at least as good as averaging with heterogeneous ranks): " + string.Join(" ", lines);
    }

    private static string Compare(StrategySummary flora, StrategySummary other, string how)
    {
        var d = flora.Loss!.Value.Mean - other.Loss!.Value.Mean;
        var verdict = flora.WithinNoiseOf(other) switch
        {
            true => "within seed noise",
            false => d <= 0 ? "FLoRA is better beyond seed noise" : "FLoRA is worse beyond seed noise",
            null => "seed noise unknown (fewer than two seeds)",
        };
        return $"FLoRA {F(flora.Loss.Value.Mean)} vs {other.Strategy} {F(other.Loss.Value.Mean)} {how}: difference {d.ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture)}, {verdict}.";
    }

    public static byte[] Plot(IReadOnlyList<StrategySummary> summaries, int baseRank)
    {
        PlotFonts.Configure();
        using var plot = new Plot();
        plot.Title("Final global test loss per strategy (mean ± 1 std over seeds)");
        plot.YLabel("final global test loss");
        var strategies = summaries.Select(s => s.Strategy).Distinct(StringComparer.Ordinal).ToList();
        var rankSettings = summaries.Select(s => s.Ranks).Distinct(StringComparer.Ordinal).ToList();
        var palette = new ScottPlot.Palettes.Category10();
        for (var k = 0; k < rankSettings.Count; k++)
        {
            var points = summaries.Where(s => s.Ranks == rankSettings[k] && s.Loss is not null).ToList();
            if (points.Count == 0) continue;
            var offset = (k - (rankSettings.Count - 1) / 2.0) * 0.2;
            var xs = points.Select(s => strategies.IndexOf(s.Strategy) + offset).ToArray();
            var scatter = plot.Add.Scatter(xs, points.Select(s => s.Loss!.Value.Mean).ToArray());
            scatter.LineWidth = 0;
            scatter.MarkerSize = 9;
            scatter.Color = palette.GetColor(k);
            scatter.LegendText = $"client ranks {RanksLabel(rankSettings[k], baseRank)}";
            for (var i = 0; i < points.Count; i++)
                if (points[i].Loss!.Value.Std is { } std)
                {
                    var bar = plot.Add.Line(xs[i], points[i].Loss!.Value.Mean - std, xs[i], points[i].Loss!.Value.Mean + std);
                    bar.Color = palette.GetColor(k);
                    bar.LineWidth = 2;
                }
        }
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (var i = 0; i < strategies.Count; i++) ticks.AddMajor(i, strategies[i]);
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.ShowLegend(Edge.Bottom);
        plot.Axes.Margins(0.08, 0.15);
        return plot.GetImageBytes(1000, 600, ImageFormat.Png);
    }

    public static string RanksLabel(string ranks, int baseRank) => IsHomogeneous(ranks) ? $"all r={baseRank}" : ranks.Replace(" ", "", StringComparison.Ordinal);

    private static bool IsHomogeneous(string ranks) => ranks.Trim() is "[]" or "";

    private static string PlusMinus((double Mean, double? Std) v, string format, double scale) =>
        (v.Mean / scale).ToString(format, CultureInfo.InvariantCulture) + (v.Std is { } s ? " ± " + (s / scale).ToString(format, CultureInfo.InvariantCulture) : "");

    private static string F(double loss) => loss.ToString("F4", CultureInfo.InvariantCulture);

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    private static string Duration(double seconds) => TimeSpan.FromSeconds(seconds) is var t && t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";

    private static string Quote(string value) => value.Contains(',', StringComparison.Ordinal) || value.Contains('"', StringComparison.Ordinal) ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
