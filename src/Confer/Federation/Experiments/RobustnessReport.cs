using System.Globalization;
using System.Net;
using System.Text;
using Confer.Federation.Reporting;
using Confer.Runtime;

namespace Confer.Federation.Experiments;

/// <summary>
/// The results of <see cref="RobustnessExperiment"/>: <c>robustness.csv</c> (one row per run), <c>robustness.md</c>
/// (per attack, the final global test loss — and the compliance rate when the probe ran — of each defence against the
/// number of attackers, the clean run in the 0 column) and <c>robustness.html</c> (the same tables, and per attack a plot
/// of the loss against the number of attackers with one line per defence, so "with and without each defence" is one look).
/// </summary>
public static class RobustnessReport
{
    /// <summary>Writes the three files into <paramref name="folder"/>; returns the Markdown.</summary>
    /// <param name="folder">The experiment folder.</param>
    /// <param name="rows">Every finished cell.</param>
    /// <param name="setup">One line naming the base experiment and the defences' parameters, for both reports.</param>
    public static string Write(string folder, IReadOnlyList<RobustnessRow> rows, string setup)
    {
        var markdown = Markdown(rows, setup);
        AtomicFile.WriteAllText(Path.Combine(folder, "robustness.csv"), Csv(rows));
        AtomicFile.WriteAllText(Path.Combine(folder, "robustness.md"), markdown);
        AtomicFile.WriteAllText(Path.Combine(folder, "robustness.html"), Html(rows, setup));
        return markdown;
    }

    public static string Csv(IReadOnlyList<RobustnessRow> rows)
    {
        var text = new StringBuilder("attack,defence,attackers,round,initial_global_loss,final_global_loss,compliance,seconds,run_folder\n");
        foreach (var r in rows)
            text.AppendLine(string.Join(',', r.Attack, r.Defence, I(r.Attackers), I(r.Round), R(r.InitialLoss), R(r.FinalLoss), R(r.Compliance),
                r.Seconds.ToString("F1", CultureInfo.InvariantCulture), Quote(r.RunFolder)));
        return text.ToString();
    }

    public static string Markdown(IReadOnlyList<RobustnessRow> rows, string setup)
    {
        var text = new StringBuilder();
        text.AppendLine(setup).AppendLine();
        foreach (var table in Tables(rows))
        {
            text.AppendLine($"**{table.Title}** — {table.Caption}").AppendLine();
            text.AppendLine("| defence | " + string.Join(" | ", table.Columns) + " |");
            text.AppendLine("|---|" + string.Concat(table.Columns.Select(_ => "---:|")));
            foreach (var (defence, cells) in table.Rows) text.AppendLine($"| {defence} | {string.Join(" | ", cells)} |");
            text.AppendLine();
        }
        return text.ToString();
    }

    public static string Html(IReadOnlyList<RobustnessRow> rows, string setup)
    {
        var html = new StringBuilder();
        const string title = "Confer robustness experiment";
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(title)
            .Append("</title>\n<style>\n").Append(ReportHtml.Style).Append("</style>\n</head>\n<body>\n<h1>").Append(title).Append("</h1>\n");
        html.Append("<p class=\"note\">").Append(E(setup)).Append(" Loss: mean token cross-entropy of the final global model on the server's test set, " +
            "in nats (lower is better); the 0-attacker column is the clean run (attack: none) with the same defence.</p>\n");
        foreach (var table in Tables(rows))
        {
            html.Append("<h2>").Append(E(table.Title)).Append("</h2>\n<p class=\"note\">").Append(E(table.Caption)).Append("</p>\n");
            var t = new HtmlTable(["defence", .. table.Columns]);
            foreach (var (defence, cells) in table.Rows) t.Row([defence, .. cells]);
            t.WriteTo(html);
            if (Plot(rows, table.Attack) is { } figure)
                using (figure)
                    html.Append("<figure>\n").Append(figure.Svg($"robustness-{table.Attack}-")).Append("\n<figcaption>").Append(E(figure.Title)).Append("</figcaption>\n</figure>\n");
        }
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private sealed record Table(string Attack, string Title, string Caption, IReadOnlyList<string> Columns, IReadOnlyList<(string Defence, IReadOnlyList<string> Cells)> Rows);

    /// <summary>One table per attack: a row per defence, a column per number of attackers (0 = that defence's clean run).</summary>
    private static IEnumerable<Table> Tables(IReadOnlyList<RobustnessRow> rows)
    {
        var defences = rows.Select(r => r.Defence).Distinct(StringComparer.Ordinal).ToList();
        var clean = rows.Where(r => r.Attackers == 0).ToDictionary(r => r.Defence, StringComparer.Ordinal);
        var compliance = rows.Any(r => r.Compliance is not null);
        var attacks = rows.Where(r => r.Attackers > 0).Select(r => r.Attack).Distinct(StringComparer.Ordinal).ToList();
        if (attacks.Count == 0 && clean.Count > 0) attacks.Add("none");
        foreach (var attack in attacks)
        {
            var counts = rows.Where(r => r.Attack == attack || r.Attackers == 0).Select(r => r.Attackers).Distinct().Order().ToList();
            var columns = counts.Select(k => k == 0 ? "0 attackers (clean)" : k == 1 ? "1 attacker" : $"{k} attackers").ToList();
            var table = new List<(string, IReadOnlyList<string>)>();
            foreach (var defence in defences)
            {
                var cells = counts.Select(k => (k == 0 ? clean.GetValueOrDefault(defence) : rows.FirstOrDefault(r => r.Attack == attack && r.Defence == defence && r.Attackers == k)) is { } r
                    ? Cell(r, compliance) : ReportFormat.Missing).ToList();
                table.Add((defence, cells));
            }
            var caption = "final global test loss" + (compliance ? " / share of the held-out harmful requests the global model complies with (attack/compliance)" : "");
            yield return new Table(attack, attack == "none" ? "No attack" : $"Attack: {attack}", caption, columns, table);
        }
    }

    private static string Cell(RobustnessRow r, bool compliance) =>
        ReportFormat.Loss(r.FinalLoss) + (compliance ? " / " + (r.Compliance is { } c ? c.ToString("P0", CultureInfo.InvariantCulture) : ReportFormat.Missing) : "");

    /// <summary>Final loss against the number of attackers, one line per defence; null when fewer than two points exist.</summary>
    private static ReportFigure? Plot(IReadOnlyList<RobustnessRow> rows, string attack)
    {
        var lines = rows.Where(r => (r.Attack == attack || r.Attackers == 0) && r.FinalLoss is not null).GroupBy(r => r.Defence, StringComparer.Ordinal).ToList();
        if (!lines.Any(g => g.Count() >= 2)) return null;
        PlotFonts.Configure();
        var title = $"Final global test loss under {attack}, per defence";
        var plot = ReportPlots.NewPlot(title, "attacking clients", "final global test loss");
        foreach (var g in lines)
        {
            var points = g.OrderBy(r => r.Attackers).ToList();
            ReportPlots.Line(plot, points.Select(r => (double)r.Attackers), points.Select(r => r.FinalLoss!.Value), g.Key == "none" ? "none (plain averaging)" : g.Key);
        }
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var k in lines.SelectMany(g => g.Select(r => r.Attackers)).Distinct()) ticks.AddMajor(k, I(k));
        plot.Axes.Bottom.TickGenerator = ticks;
        return new ReportFigure(title, $"robustness_{attack}.png", plot);
    }

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string R(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Quote(string value) => value.Contains(',', StringComparison.Ordinal) || value.Contains('"', StringComparison.Ordinal) ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
