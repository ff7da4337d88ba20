using System.Globalization;
using System.Net;
using System.Text;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Reasoning.Discriminator;
using Confer.Runtime;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// <c>report.html</c> of a FedCoT run folder: the paper-style accuracy table, the traffic comparison, the federated
/// discriminator's accuracy per round, and links to the two federated runs' own reports. Self-contained, no scripts,
/// every text from the run HTML-escaped.
/// </summary>
internal static class FedCotReport
{
    public static string Write(FedCotResult result, FedCotSettings s, IReadOnlyList<RoundRecord> discriminatorRounds)
    {
        var html = new StringBuilder();
        var title = $"Confer FedCoT report: {s.Name} ({result.Suite} suite)";
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(title)).Append("</title>\n<style>\n")
            .Append("body { font-family: \"DejaVu Sans\", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }\n")
            .Append("h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; } table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }\n")
            .Append("th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4; text-align: left; } th { background: #f3f3f3; }\n")
            .Append(".n { text-align: right; font-variant-numeric: tabular-nums; } tr.total td { font-weight: bold; border-top: 1px solid #999; } .note { color: #666; font-size: 0.9em; }\n")
            .Append("</style>\n</head>\n<body>\n<h1>").Append(E(title)).Append("</h1>\n");
        Note(html, $"Actor {s.Actor}; encoder {s.EncoderFolder}; K = {s.K} candidates at temperature {F(s.Temperature)}; {s.Rounds} rounds × {s.LocalSteps} local steps; " +
                   $"LoRA ranks {string.Join(", ", s.ClientRanks)} on [{string.Join(", ", s.LoraTargets)}]; seed {s.Seed}, questions from suite_seed {s.SuiteSeed}; {F(result.Seconds)} s.");

        html.Append("<h2>Test accuracy (%)</h2>\n");
        var methods = FedCotResult.Methods.Where(m => result.Rows.Any(r => m.Value(r) is not null)).ToList();
        var table = new HtmlTable(["client (data set)", "test questions", "candidate acc.", .. methods.Select(m => m.Name.Replace("K", result.K.ToString(CultureInfo.InvariantCulture)))]);
        foreach (var r in result.Rows)
            table.Row([r.Dataset, r.TestQuestions.ToString(CultureInfo.InvariantCulture), FedCotResult.Pct(r.CandidateAccuracy), .. methods.Select(m => FedCotResult.Pct(m.Value(r)))]);
        table.TotalRow(["average", result.Rows.Sum(r => r.TestQuestions).ToString(CultureInfo.InvariantCulture), FedCotResult.Pct(result.Rows.Average(r => r.CandidateAccuracy)),
            .. methods.Select(m => FedCotResult.Pct(FedCotResult.Average(result.Rows, m.Value)))]);
        table.WriteTo(html);
        Note(html, "Candidate acc. = share of all sampled candidates that are correct. CoT = the actor's greedy answer; Self-Consistency = majority vote of the K " +
                   "candidates; Local discriminator = best of K by a discriminator trained on the client's own candidates only; Fed-SFT = the actor after " +
                   "FedIT on the same training questions, answering greedily; FedCoT = best of K by the federated discriminator; pass@K = a correct candidate exists. " +
                   "Reference (FedCoT paper, LLaMA-3-8B-Instruct, five medical QA sets): FedCoT 52.32 % vs FedIT 45.63 % average.");

        html.Append("<h2>Communication per round</h2>\n");
        var traffic = new HtmlTable(["method", "parameters up", "parameters down", "parameters total", "bytes total"]);
        foreach (var t in new[] { result.FedCot, result.FedSft }.OfType<RoundTraffic>())
            traffic.Row(t.Method, N(t.ParametersUp), N(t.ParametersDown), N(t.Parameters), ReportFormat.Bytes((long)t.Bytes));
        traffic.WriteTo(html);
        Note(html, "Summed over the clients of a round, averaged over rounds, as the traffic ledger counts encoded messages (traffic.csv of each run).");

        html.Append("<h2>Federated discriminator per round</h2>\n");
        var rounds = new HtmlTable(["round", "FedCoT accuracy", "test BCE", "train BCE", "up", "down"]);
        foreach (var r in discriminatorRounds)
            rounds.Row(r.Round.ToString(CultureInfo.InvariantCulture), FedCotResult.Pct(r.Metric(DiscriminatorServerModel.AccuracyMetric)),
                ReportFormat.Loss(r.GlobalLoss), ReportFormat.Loss(r.TrainLoss), ReportFormat.Bytes(r.Up.Bytes), ReportFormat.Bytes(r.Down.Bytes));
        rounds.WriteTo(html);
        html.Append("<p class=\"note\">The federated runs' own reports: <a href=\"").Append(E(Relative(result.RunFolder, result.DiscriminatorRun)))
            .Append("/report.html\">discriminator</a>");
        if (result.FedSftRun is { } sft) html.Append(", <a href=\"").Append(E(Relative(result.RunFolder, sft))).Append("/report.html\">Fed-SFT</a>");
        html.Append(".</p>\n</body>\n</html>\n");
        var path = Path.Combine(result.RunFolder, RunReport.FileName);
        AtomicFile.WriteAllText(path, html.ToString());
        return path;
    }

    private static string Relative(string from, string to) => Path.GetRelativePath(from, to).Replace('\\', '/');

    private static void Note(StringBuilder html, string text) => html.Append("<p class=\"note\">").Append(E(text)).Append("</p>\n");

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string N(double value) => Math.Round(value).ToString("N0", CultureInfo.InvariantCulture);
}
