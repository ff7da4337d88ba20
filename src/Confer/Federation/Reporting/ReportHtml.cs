using System.Net;
using System.Text;
using Confer.Privacy.DifferentialPrivacy;
using Confer.Robustness.Attacks;
using static Confer.Federation.Reporting.ReportFormat;

namespace Confer.Federation.Reporting;

/// <summary>
/// Renders a run as one self-contained HTML page: inline CSS, inline SVG plots, no scripts and nothing fetched, so the
/// file can be mailed or archived alone. Every piece of text that came from a run file is HTML-escaped.
/// </summary>
internal static class ReportHtml
{
    /// <summary>The page style, shared with the experiment report pages so every Confer page reads alike.</summary>
    internal const string Style = """
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
        h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
        table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
        th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4; text-align: left; }
        th { background: #f3f3f3; } .n { text-align: right; font-variant-numeric: tabular-nums; }
        tr.total td { font-weight: bold; border-top: 1px solid #999; }
        p.verdict { font-size: 1.1em; font-weight: bold; }
        figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; } figcaption, .note { color: #666; font-size: 0.9em; }
        """;

    public static string Render(RunData run, ReportFigures figures, DateTimeOffset generated)
    {
        var m = run.Metrics;
        var html = new StringBuilder();
        var title = $"Confer run report: {run.Info.Name ?? Path.GetFileName(run.Folder)}";
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(title))
            .Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(E(title)).Append("</h1>\n");
        if (RunVerdict.Of(run.Info.Strategy ?? "federated", m.FinalRound?.GlobalLoss, m.MeanLocalOnlyLoss, m.CentralizedLoss) is { } verdict)
            html.Append("<p class=\"verdict\">").Append(E(char.ToUpperInvariant(verdict.Text[0]) + verdict.Text[1..] + ".")).Append("</p>\n");
        Note(html, $"Run folder {Path.GetFileName(run.Folder)}, report generated {Time(generated)}. Losses are mean cross-entropy in nats per " +
                   "target token (lower is better); every difference column is federated − other, so a negative difference means the federated " +
                   "model is better. Bytes are decimal (1 MB = 10⁶ B), as on the console.");
        Summary(run).WriteTo(html);
        if (run.Settings.Count > 0)
        {
            html.Append("<h3>Key settings</h3>\n");
            Settings(run.Settings).WriteTo(html);
        }

        Section(html, ReportPlots.GlobalLossTitle);
        Figure(html, figures.GlobalLoss, "No round has been evaluated yet.");

        Section(html, ReportPlots.BaselinesTitle);
        Figure(html, figures.Baselines, "No baselines in metrics.jsonl: the run's baselines setting was empty, or the run has not reached them.");
        if (m.LocalOnly.Count > 0)
        {
            html.Append("<h3>Local-only baseline per client</h3>\n");
            LocalOnly(m).WriteTo(html);
        }
        if (m.LastClientEvals.Count > 0)
        {
            Section(html, $"Per-client local test loss, round {m.LastClientEvals[0].Round}");
            Note(html, "The global model evaluated on each client's held-out local test split, next to that client's local-only model.");
            ClientEvals(m).WriteTo(html);
        }

        Section(html, ReportPlots.CommunicationTitle);
        Figure(html, figures.Communication, "No training round has finished yet.");
        if (run.Traffic.Count > 0)
        {
            html.Append("<h3>Traffic per client</h3>\n");
            Traffic(run.Traffic, run.ClientIds).WriteTo(html);
        }

        if (m.HasSimulatedTime)
        {
            Section(html, ReportPlots.SimulatedTimeTitle);
            Note(html, "The simulated network (client_devices) times every selected client: download (round trip + task bytes / downlink) + " +
                       "compute (trained tokens / the device's throughput) + upload (round trip + update bytes / uplink); a round lasts as long as " +
                       "its slowest returning client, or until round_deadline_s when someone did not return. Real time is what the round took here.");
            Figure(html, figures.SimulatedTime, "No training round has finished yet.");
            Figure(html, figures.LossOverSimulatedTime, "No round has been evaluated yet.");
            if (m.ClientTimes.Count > 0)
            {
                html.Append("<h3>Simulated time per client</h3>\n");
                ClientTimes(m).WriteTo(html);
            }
        }

        Section(html, ReportPlots.ClientDataTitle);
        Figure(html, figures.ClientData, $"No {AllocationInfo.FileName} in the run folder.");
        if (run.Allocation is { Clients.Count: > 0 } allocation)
        {
            Note(html, $"Allocation method {allocation.Method ?? Missing}, seed {Number(allocation.Seed)}.");
            if (allocation.CapNote() is { } capped) Note(html, capped + " Sizes below are after the cap.");
            Allocation(allocation).WriteTo(html);
        }

        if (m.Rounds.Count > 0)
        {
            Section(html, "Rounds");
            Rounds(m).WriteTo(html);
        }
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static HtmlTable Summary(RunData run)
    {
        var (info, m) = (run.Info, run.Metrics);
        var final = m.FinalRound;
        var best = m.Rounds.Where(r => r.GlobalLoss is not null).MinBy(r => r.GlobalLoss);
        var completed = m.TrainingRounds.Count;
        var table = new HtmlTable(["", ""], numericFrom: int.MaxValue)
            .Row("Strategy", info.Strategy ?? Missing)
            .Row("Seed", Number(info.Seed))
            .Row("Rounds", info.Rounds is { } planned ? $"{completed} of {planned} completed" : $"{completed} completed")
            .Row("Clients", Number(info.Clients));
        if (info.Threads is { } threads) table.Row("Threads", Number(threads));
        table.Row("Started", Time(info.Started))
            .Row("Finished", info.Finished is null ? "not finished" : Time(info.Finished))
            .Row("Wall time", info.WallTime is { } wall ? Duration(wall) : $"{Missing} (training rounds so far: {Duration(TimeSpan.FromSeconds(m.Rounds.Sum(r => r.Seconds)))})")
            .Row("Final global loss", final is null ? Missing : $"{Loss(final.GlobalLoss)} (round {final.Round})")
            .Row("Final global perplexity", Perplexity(final?.GlobalPerplexity))
            .Row("Best global loss", best is null ? Missing : $"{Loss(best.GlobalLoss)} (round {best.Round})");
        if (m.HasSimulatedTime)
            table.Row("Simulated wall-clock", $"{Duration(TimeSpan.FromSeconds(m.Rounds.Sum(r => ReportPlots.SimulatedSeconds(r) ?? 0)))} " +
                                              $"(clients' real training time {Duration(TimeSpan.FromSeconds(m.Rounds.Sum(r => r.Metrics?.GetValueOrDefault(Confer.Federation.Rounds.MetricNames.RealTrainSeconds) ?? 0)))})");
        if (m.CentralizedLoss is { } central) table.Row("Centralized baseline loss", WithCompute(Loss(central), m.CentralizedCompute));
        if (m.MeanLocalOnlyLoss is { } local) table.Row("Local-only baseline loss (mean)", WithCompute(Loss(local), m.LocalOnlyCompute(info.Clients)));
        return table
            .Row("Total bytes up", Transfer(m.Rounds.Sum(r => r.BytesUp), m.Rounds.Sum(r => r.RawUp), m.Rounds.Sum(r => r.ParamsUp)))
            .Row("Total bytes down", Transfer(m.Rounds.Sum(r => r.BytesDown), m.Rounds.Sum(r => r.RawDown), m.Rounds.Sum(r => r.ParamsDown)));
    }

    private static string WithCompute(string loss, string? compute) => compute is null ? loss : $"{loss} ({compute})";

    /// <summary>Bytes sent, with the fp32 size before the codecs and the ratio when a codec changed it.</summary>
    private static string Transfer(long bytes, long raw, long parameters)
    {
        var sent = $"{BytesExact(bytes)}, {Count(parameters)} parameters";
        return raw == bytes || bytes == 0 ? sent : $"{sent}; {Bytes(raw)} as fp32 before the codecs ({(double)raw / bytes:F1}× smaller on the wire)";
    }

    private static HtmlTable LocalOnly(RunMetrics m)
    {
        var federated = m.FinalRound?.GlobalLoss;
        var table = new HtmlTable(["client", "optimiser steps", "global test loss", "local test loss", "federated − local-only (global)"]);
        foreach (var b in m.LocalOnly)
            table.Row(b.Client!, b.Steps is { } steps ? Count(steps) : Missing, Loss(b.GlobalLoss), Loss(b.LocalLoss), Signed(federated - b.GlobalLoss));
        return table.TotalRow("mean", "", Loss(m.MeanLocalOnlyLoss), Loss(Mean(m.LocalOnly.Select(b => b.LocalLoss))), Signed(federated - m.MeanLocalOnlyLoss));
    }

    private static HtmlTable ClientEvals(RunMetrics m)
    {
        var localOnly = m.LocalOnly.ToDictionary(b => b.Client!, StringComparer.Ordinal);
        var table = new HtmlTable(["client", "test examples", "federated model", "local-only model", "federated − local-only"]);
        foreach (var e in m.LastClientEvals)
        {
            var alone = localOnly.GetValueOrDefault(e.Client)?.LocalLoss;
            table.Row(e.Client, Count(e.LocalExamples), Loss(e.LocalLoss), Loss(alone), Signed(e.LocalLoss - alone));
        }
        var fed = Mean(m.LastClientEvals.Select(e => e.LocalLoss));
        var local = Mean(m.LastClientEvals.Select(e => localOnly.GetValueOrDefault(e.Client)?.LocalLoss));
        return table.TotalRow("mean", "", Loss(fed), Loss(local), Signed(fed - local));
    }

    /// <summary>One row per client of the run — a client never selected has zeros — so a skewed selection is visible.</summary>
    private static HtmlTable Traffic(IReadOnlyList<TrafficEntry> traffic, IReadOnlyList<string> clientIds)
    {
        var table = new HtmlTable(["client", "rounds", "params down", "raw down (fp32)", "bytes down", "params up", "raw up (fp32)", "bytes up"]);
        var byClient = traffic.ToLookup(t => t.Client, StringComparer.Ordinal);
        foreach (var client in clientIds.Union(byClient.Select(g => g.Key), StringComparer.Ordinal).Order(ClientIdComparer.Instance))
        {
            var g = byClient[client].ToList();
            table.Row(client, Count(g.Select(t => t.Round).Distinct().Count()), Count(g.Sum(t => t.ParamsDown)), Bytes(g.Sum(t => t.RawBytesDown)),
                Bytes(g.Sum(t => t.BytesDown)), Count(g.Sum(t => t.ParamsUp)), Bytes(g.Sum(t => t.RawBytesUp)), Bytes(g.Sum(t => t.BytesUp)));
        }
        return table.TotalRow("total", "", Count(traffic.Sum(t => t.ParamsDown)), Bytes(traffic.Sum(t => t.RawBytesDown)), Bytes(traffic.Sum(t => t.BytesDown)),
            Count(traffic.Sum(t => t.ParamsUp)), Bytes(traffic.Sum(t => t.RawBytesUp)), Bytes(traffic.Sum(t => t.BytesUp)));
    }

    private static HtmlTable ClientTimes(RunMetrics m)
    {
        var table = new HtmlTable(["client", "rounds timed", "mean download s", "mean compute s", "mean upload s", "mean total s", "slowest s"]);
        foreach (var g in m.ClientTimes.GroupBy(t => t.Client, StringComparer.Ordinal).OrderBy(g => g.Key, ClientIdComparer.Instance))
            table.Row(g.Key, Count(g.Count()), Seconds(g.Average(t => t.DownloadS)), Seconds(g.Average(t => t.ComputeS)), Seconds(g.Average(t => t.UploadS)),
                Seconds(g.Average(t => t.DownloadS + t.ComputeS + t.UploadS)), Seconds(g.Max(t => t.DownloadS + t.ComputeS + t.UploadS)));
        return table;
    }

    /// <summary>The settings a reader needs to interpret the numbers; every key is in config.yaml (or server.db).</summary>
    private static HtmlTable Settings(IReadOnlyDictionary<string, string> settings)
    {
        string[] keys =
        [
            "strategy", "rounds", "scheduler", "fraction", "min_clients", "local_steps", "local_epochs", "lr", "micro_batch_size",
            "schedule", "peft_method", "lora_r", "lora_alpha", "lora_targets", "client_ranks", "rank_by_capacity", "allocation",
            "max_client_records", "cutoff_len", "template", "model", "data", "seed", "uplink_codec", "downlink_codec",
            "client_devices", "round_deadline_s",
        ];
        var table = new HtmlTable(["key", "value"], numericFrom: int.MaxValue);
        foreach (var key in keys.Where(settings.ContainsKey)) table.Row(key, settings[key].Length == 0 ? "unset" : settings[key]);
        return table;
    }

    private static HtmlTable Allocation(AllocationInfo allocation)
    {
        var table = new HtmlTable(["client", "largest category", "its share", "records", "categories"], numericFrom: 2);
        foreach (var c in allocation.Clients)
        {
            var held = c.Categories.Where(kv => kv.Value > 0).ToList();
            var largest = held.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).FirstOrDefault();
            table.Row(c.Client, largest.Key ?? Missing, c.Size > 0 && largest.Key is not null ? Percent(largest.Value, c.Size) : Missing,
                Count(c.Size), Count(held.Count));
        }
        var categories = allocation.Clients.SelectMany(c => c.Categories).Where(kv => kv.Value > 0).Select(kv => kv.Key).Distinct().Count();
        return table.TotalRow("total", "", "", Count(allocation.Clients.Sum(c => (long)c.Size)), Count(categories));
    }

    private static HtmlTable Rounds(RunMetrics m)
    {
        // Optional columns only for runs that have them: simulated time; ε spent so far under DP, the compliance probe's rate.
        var simulated = m.HasSimulatedTime;
        string[] extra = [.. new[] { DpController.EpsilonMetric, ComplianceProbe.Metric }.Where(k => m.Rounds.Any(r => r.Metrics?.ContainsKey(k) == true))];
        var table = new HtmlTable(["round", "global loss", "perplexity", "train loss", "clients", "dropped", "examples", "bytes up", "bytes down", "seconds",
            .. simulated ? new[] { "simulated seconds" } : [], .. extra.Select(k => k == DpController.EpsilonMetric ? "ε (DP)" : "compliance")]);
        foreach (var r in m.Rounds)
            table.Row([Number(r.Round), Loss(r.GlobalLoss), Perplexity(r.GlobalPerplexity), Loss(r.TrainLoss), Count(r.Clients?.Count ?? 0),
                Count(r.Dropped?.Count ?? 0), Count(r.Examples), Bytes(r.BytesUp), Bytes(r.BytesDown), Seconds(r.Seconds),
                .. simulated ? new[] { ReportPlots.SimulatedSeconds(r) is { } s ? Seconds(s) : Missing } : [],
                .. extra.Select(k => r.Metrics is { } rm && rm.TryGetValue(k, out var v) ? Loss(v) : Missing)]);
        return table;
    }

    /// <summary>Mean of the known values; null when none is known.</summary>
    private static double? Mean(IEnumerable<double?> values)
    {
        var known = values.OfType<double>().ToList();
        return known.Count == 0 ? null : known.Average();
    }

    private static void Figure(StringBuilder html, ReportFigure? figure, string whenMissing)
    {
        if (figure is null)
        {
            Note(html, whenMissing);
            return;
        }
        var id = Path.GetFileNameWithoutExtension(figure.FileName) + "-";
        html.Append("<figure>\n").Append(figure.Svg(id)).Append("\n<figcaption>")
            .Append(E($"{figure.Title} (also {RunReport.PlotsFolder}/{figure.FileName})")).Append("</figcaption>\n</figure>\n");
    }

    private static void Section(StringBuilder html, string title) => html.Append("<h2>").Append(E(title)).Append("</h2>\n");

    private static void Note(StringBuilder html, string text) => html.Append("<p class=\"note\">").Append(E(text)).Append("</p>\n");

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
