using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Confer.Federation.Simulation;

/// <summary>
/// The files of one experiment: resolved config, run description, allocation report, metrics (JSONL, one event per
/// line, plus a per-round CSV), per-round checkpoints and the final model. Lines that describe rounds after the last
/// completed checkpoint are dropped on resume, so a resumed run's files equal an uninterrupted run's.
/// </summary>
public sealed class RunFolder
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    public RunFolder(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string ConfigFile => Combine("config.yaml");
    public string RunFile => Combine("run.json");
    public string AllocationFile => Combine("allocation.json");
    public string MetricsFile => Combine("metrics.jsonl");
    public string MetricsCsv => Combine("metrics.csv");
    public string TrafficCsv => Combine("traffic.csv");
    public string CheckpointFile => Combine("checkpoint.json");
    public string FinalFolder => Combine("final");

    public string RoundFolder(int round) => Combine("rounds", $"round-{round:D4}");

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>The last round whose checkpoint is complete, or 0.</summary>
    public int LastCompletedRound()
    {
        if (!File.Exists(CheckpointFile)) return 0;
        using var doc = JsonDocument.Parse(File.ReadAllText(CheckpointFile));
        return doc.RootElement.GetProperty("round").GetInt32();
    }

    public void MarkRoundComplete(int round) =>
        AtomicFile.WriteAllText(CheckpointFile, JsonSerializer.Serialize(new { round, written = DateTime.UtcNow.ToString("O") }));

    /// <summary>Appends one metrics event (one JSON object per line).</summary>
    public void Append(JsonObject line)
    {
        using var stream = new FileStream(MetricsFile, FileMode.Append, FileAccess.Write, FileShare.Read);
        using var writer = new StreamWriter(stream);
        writer.WriteLine(line.ToJsonString(Compact));
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }

    public IReadOnlyList<JsonObject> ReadMetrics() =>
        File.Exists(MetricsFile)
            ? File.ReadLines(MetricsFile).Where(l => l.Trim().Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList()
            : [];

    /// <summary>
    /// Drops metrics lines from rounds after <paramref name="round"/> and every final-phase line (baselines, the last
    /// round's client evaluation), so a resumed run writes them once.
    /// </summary>
    public void TruncateAfter(int round, int lastRound)
    {
        var keep = ReadMetrics().Where(m =>
        {
            var kind = m["kind"]!.GetValue<string>();
            var r = m["round"]?.GetValue<int>() ?? int.MaxValue;
            return r <= round && (kind == "round" || (kind == "client_eval" && r < lastRound));
        }).ToList();
        AtomicFile.WriteAllText(MetricsFile, string.Concat(keep.Select(m => m.ToJsonString(Compact) + "\n")));
        if (File.Exists(TrafficCsv))
        {
            var lines = File.ReadAllLines(TrafficCsv);
            var kept = lines.Take(1).Concat(lines.Skip(1).Where(l => int.Parse(l.Split(',')[0], CultureInfo.InvariantCulture) <= round));
            AtomicFile.WriteAllText(TrafficCsv, string.Join('\n', kept) + "\n");
        }
    }

    public void AppendTraffic(IEnumerable<ClientTraffic> entries)
    {
        var exists = File.Exists(TrafficCsv);
        using var writer = new StreamWriter(TrafficCsv, append: true);
        if (!exists) writer.WriteLine("round,client,params_down,bytes_down,params_up,bytes_up");
        foreach (var e in entries)
            writer.WriteLine($"{e.Round},{e.ClientId},{e.Down.Parameters},{e.Down.Bytes},{e.Up.Parameters},{e.Up.Bytes}");
    }

    /// <summary>Rewrites metrics.csv (one row per round) from the JSONL events.</summary>
    public void WriteMetricsCsv()
    {
        var rows = ReadMetrics().Where(m => m["kind"]!.GetValue<string>() == "round").Select(m => string.Join(',',
            m["round"], F(m["global_loss"]), F(m["global_perplexity"]), F(m["train_loss"]),
            m["clients"]!.AsArray().Count, m["examples"], m["params_up"], m["bytes_up"], m["params_down"], m["bytes_down"], F(m["seconds"])));
        AtomicFile.WriteAllText(MetricsCsv,
            "round,global_loss,global_perplexity,train_loss,clients,examples,params_up,bytes_up,params_down,bytes_down,seconds\n" +
            string.Concat(rows.Select(r => r + "\n")));
    }

    private static string F(JsonNode? n) => n is null ? "" : n.GetValue<double>().ToString("G6", CultureInfo.InvariantCulture);
}
