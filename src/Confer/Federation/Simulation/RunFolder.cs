using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Runtime;

namespace Confer.Federation.Simulation;

/// <summary>
/// The files of one simulated experiment and its <see cref="IRunStore"/>: resolved config, run description, allocation
/// report, metrics (JSONL, one event per line, plus a per-round CSV), traffic (CSV), per-round checkpoints
/// (<see cref="RunLayout"/>) and the final model. A round counts once <c>checkpoint.json</c> names it; lines written
/// for later rounds are dropped when the run resumes, so a resumed run's files equal an uninterrupted run's.
/// </summary>
public sealed class RunFolder : IRunStore
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    public RunFolder(string path)
    {
        Folder = Path.GetFullPath(path);
    }

    public string Folder { get; }

    public string ConfigFile => Combine("config.yaml");
    public string RunFile => Combine(RunInfo.FileName);
    public string AllocationFile => Combine(AllocationInfo.FileName);
    public string MetricsFile => Combine(RunMetrics.FileName);
    public string MetricsCsv => Combine("metrics.csv");
    public string TrafficCsv => Combine(TrafficEntry.FileName);
    public string CheckpointFile => Combine("checkpoint.json");
    public string FinalFolder => RunLayout.FinalFolder(Folder);

    /// <summary>What the simulated clients keep between rounds (<see cref="Clients.FolderClientStateStore"/>): a folder per client.</summary>
    public string ClientStateFolder => Combine("clients");

    /// <summary>True when the folder holds a run (a fresh run must not write into it).</summary>
    public bool HoldsRun => File.Exists(RunFile) || File.Exists(CheckpointFile);

    public string Combine(params string[] parts) => Path.Combine([Folder, .. parts]);

    public int LastCompletedRound()
    {
        if (!File.Exists(CheckpointFile)) return 0;
        using var doc = JsonDocument.Parse(File.ReadAllText(CheckpointFile));
        return doc.RootElement.GetProperty("round").GetInt32();
    }

    /// <summary>
    /// True once the whole run is done: its rounds and whatever its engine does after them (baselines), marked by
    /// <see cref="MarkFinished"/>. The round driver's own "finished" (<see cref="IRunStore.IsFinished"/>) only says the
    /// rounds are done, so a run stopped during its baselines is unfinished and <c>--resume</c> trains them.
    /// </summary>
    public bool IsFinished => RunField("finished") is JsonValue;

    bool IRunStore.IsFinished => RunField(RoundsFinishedKey) is JsonValue || IsFinished;

    void IRunStore.MarkFinished() => SetRunField(RoundsFinishedKey, DateTime.UtcNow.ToString("O"));

    private const string RoundsFinishedKey = "rounds_finished";

    private JsonNode? RunField(string key) => File.Exists(RunFile) ? JsonNode.Parse(File.ReadAllText(RunFile))?[key] : null;

    private void SetRunField(string key, string? value)
    {
        var run = JsonNode.Parse(File.ReadAllText(RunFile))!.AsObject();
        run[key] = value;
        AtomicFile.WriteAllText(RunFile, run.ToJsonString());
    }

    /// <summary>Starts a new run: its description files, and empty metrics.</summary>
    public void Create(string configYaml, string allocationJson, JsonObject runDescription)
    {
        Directory.CreateDirectory(Folder);
        AtomicFile.WriteAllText(ConfigFile, configYaml);
        AtomicFile.WriteAllText(AllocationFile, allocationJson);
        AtomicFile.WriteAllText(RunFile, runDescription.ToJsonString());
        File.Delete(MetricsFile);
        File.Delete(TrafficCsv);
    }

    /// <summary>Continues a run for more rounds: its config.yaml and run.json say so, and it is no longer finished.</summary>
    public void Extend(string configYaml, int rounds)
    {
        AtomicFile.WriteAllText(ConfigFile, configYaml);
        var run = JsonNode.Parse(File.ReadAllText(RunFile))!.AsObject();
        run["rounds"] = rounds;
        run["finished"] = null;
        run[RoundsFinishedKey] = null;
        AtomicFile.WriteAllText(RunFile, run.ToJsonString());
    }

    /// <summary>
    /// Prepares an interrupted run to continue: removes temporary files a killed process left, and drops metrics lines
    /// from rounds after the last committed one and every final-phase line (baselines), so they are written once.
    /// </summary>
    public void PrepareResume()
    {
        AtomicFile.RemoveLeftovers(Folder);
        var round = LastCompletedRound();
        var keep = ReadLines().Where(m =>
        {
            var r = m["round"]?.GetValue<int>() ?? int.MaxValue;
            return r <= round && m["kind"]!.GetValue<string>() is "round" or "client_eval" or ClientTimeEntry.Kind;
        }).ToList();
        AtomicFile.WriteAllText(MetricsFile, string.Concat(keep.Select(m => m.ToJsonString(Compact) + "\n")));
        if (File.Exists(TrafficCsv))
        {
            var lines = File.ReadAllLines(TrafficCsv);
            var kept = lines.Take(1).Concat(lines.Skip(1).Where(l => l.Length > 0 && int.Parse(l.Split(',')[0], CultureInfo.InvariantCulture) <= round));
            AtomicFile.WriteAllText(TrafficCsv, string.Join('\n', kept) + "\n");
        }
    }

    public void CommitRound(RoundRecord record)
    {
        record.Validate();
        var last = LastCompletedRound();
        if (record.Round != last + 1 && !(record.Round == 0 && last == 0))
            throw new InvalidOperationException($"Cannot commit round {record.Round}: the next round to commit is {last + 1}.");
        AppendTraffic(record.Traffic);
        Append(RoundLine(record));
        foreach (var e in record.ClientEvaluations)
            Append(new JsonObject { ["kind"] = "client_eval", ["round"] = record.Round, ["client"] = e.ClientId, ["local_loss"] = e.Loss, ["local_examples"] = e.Examples });
        foreach (var t in record.Timings)
            Append(new JsonObject
            {
                ["kind"] = ClientTimeEntry.Kind, ["round"] = record.Round, ["client"] = t.ClientId, ["rank"] = t.Rank, ["bytes_down"] = t.BytesDown,
                ["bytes_up"] = t.BytesUp, ["tokens"] = t.Tokens, ["download_s"] = t.DownloadSeconds, ["compute_s"] = t.ComputeSeconds, ["upload_s"] = t.UploadSeconds,
            });
        if (record.Round > 0)
            AtomicFile.WriteAllText(CheckpointFile, JsonSerializer.Serialize(new { round = record.Round, written = DateTime.UtcNow.ToString("O") }));
    }

    public IReadOnlyList<RoundRecord> Rounds()
    {
        var metrics = RunMetrics.Read(Folder);
        var traffic = TrafficEntry.Read(Folder).ToLookup(t => t.Round);
        var evaluations = metrics.ClientEvals.ToLookup(e => e.Round);
        var times = metrics.ClientTimes.ToLookup(t => t.Round);
        return [.. metrics.Rounds.Select(r => r.ToRecord(traffic[r.Round], evaluations[r.Round]) with { Timings = [.. times[r.Round].Select(t => t.ToTiming())] })];
    }

    /// <summary>Marks the whole run done (see <see cref="IsFinished"/>).</summary>
    public void MarkFinished() => SetRunField("finished", DateTime.UtcNow.ToString("O"));

    /// <summary>Appends one metrics event (one JSON object per line), flushed to disk.</summary>
    public void Append(JsonObject line)
    {
        using var stream = new FileStream(MetricsFile, FileMode.Append, FileAccess.Write, FileShare.Read);
        using var writer = new StreamWriter(stream);
        writer.WriteLine(line.ToJsonString(Compact));
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Rewrites metrics.csv (one row per round) from the committed records.</summary>
    public void WriteMetricsCsv()
    {
        var rows = Rounds().Select(r => string.Join(',',
            r.Round, F(r.GlobalLoss), F(r.GlobalPerplexity), F(r.TrainLoss), r.Aggregated.Count, r.Examples,
            r.Up.Parameters, r.Up.RawBytes, r.Up.Bytes, r.Down.Parameters, r.Down.RawBytes, r.Down.Bytes, F(r.Seconds)));
        AtomicFile.WriteAllText(MetricsCsv,
            "round,global_loss,global_perplexity,train_loss,clients,examples,params_up,raw_bytes_up,bytes_up,params_down,raw_bytes_down,bytes_down,seconds\n" +
            string.Concat(rows.Select(r => r + "\n")));
    }

    private IEnumerable<JsonObject> ReadLines() =>
        File.Exists(MetricsFile)
            ? File.ReadLines(MetricsFile).Where(l => l.Trim().Length > 0).Select(l => JsonNode.Parse(l)!.AsObject())
            : [];

    private void AppendTraffic(IEnumerable<ClientTraffic> entries)
    {
        var exists = File.Exists(TrafficCsv);
        using var stream = new FileStream(TrafficCsv, FileMode.Append, FileAccess.Write, FileShare.Read);
        using var writer = new StreamWriter(stream);
        if (!exists) writer.WriteLine(TrafficEntry.Header);
        foreach (var e in entries) writer.WriteLine(TrafficEntry.From(e).ToCsv());
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }

    private static JsonObject RoundLine(RoundRecord r) => new()
    {
        ["kind"] = "round", ["round"] = r.Round, ["global_loss"] = r.GlobalLoss, ["global_perplexity"] = r.GlobalPerplexity,
        ["train_loss"] = r.TrainLoss, ["selected"] = Ids(r.Selected), ["clients"] = Ids(r.Aggregated),
        ["dropped"] = Ids(r.Dropped.Select(d => d.ClientId)),
        ["dropped_reasons"] = new JsonObject(r.Dropped.Select(d => KeyValuePair.Create(d.ClientId, (JsonNode?)d.Reason))),
        ["examples"] = r.Examples, ["bytes_up"] = r.Up.Bytes, ["bytes_down"] = r.Down.Bytes,
        ["raw_bytes_up"] = r.Up.RawBytes, ["raw_bytes_down"] = r.Down.RawBytes,
        ["params_up"] = r.Up.Parameters, ["params_down"] = r.Down.Parameters, ["seconds"] = r.Seconds,
        ["metrics"] = new JsonObject(r.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))),
    };

    private static JsonArray Ids(IEnumerable<string> ids) => new([.. ids.Select(id => (JsonNode)id)]);

    private static string F(double? v) => v is { } d ? d.ToString("G6", CultureInfo.InvariantCulture) : "";
}
