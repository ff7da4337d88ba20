using System.Text.Json;
using Confer.Federation.Rounds;

namespace Confer.Federation.Reporting;

/// <summary>
/// The events of <c>metrics.jsonl</c> that the report shows. Where a line repeats (a resumed run that re-logged a
/// round), the later line wins; kinds the report does not know are skipped so newer engines stay readable.
/// </summary>
internal sealed record RunMetrics(
    IReadOnlyList<RoundEntry> Rounds, IReadOnlyList<ClientEvalEntry> ClientEvals, IReadOnlyList<BaselineEntry> Baselines)
{
    /// <summary>Timed client rounds (<c>client_time</c> lines; a simulated network writes them), in round then client order.</summary>
    public IReadOnlyList<ClientTimeEntry> ClientTimes { get; init; } = [];

    /// <summary>True when the run timed its rounds (a simulated network).</summary>
    public bool HasSimulatedTime => Rounds.Any(r => r.Metrics?.ContainsKey(MetricNames.SimulatedSeconds) == true);

    public const string FileName = "metrics.jsonl";

    /// <summary>The last round with a global evaluation: the run's result so far.</summary>
    public RoundEntry? FinalRound => Rounds.LastOrDefault(r => r.GlobalLoss is not null);

    /// <summary>Rounds in which clients trained (round 0, the starting model, moves no data).</summary>
    public IReadOnlyList<RoundEntry> TrainingRounds => Rounds.Where(r => r.Round > 0).ToList();

    public double? CentralizedLoss => Baselines.LastOrDefault(b => b.Name == BaselineEntry.Centralized)?.GlobalLoss;

    /// <summary>What the centralized model's optimiser steps were matched to, or that they were not.</summary>
    public string? CentralizedCompute =>
        Baselines.LastOrDefault(b => b.Name == BaselineEntry.Centralized) is { Compute: { } compute, Steps: var steps } ? $"{steps} steps, {compute}" : null;

    /// <summary>One line on the local-only rows: how many clients had one, and what their steps were matched to.</summary>
    /// <param name="clients">The run's client count, to say when the rows are a sample.</param>
    public string? LocalOnlyCompute(int? clients)
    {
        var rows = LocalOnly;
        if (rows.Count == 0 || rows.Any(b => b.Compute is null)) return null;
        var sample = clients is { } n && n > rows.Count ? $"a seeded sample of {rows.Count} of {n} clients" : $"all {rows.Count} clients";
        return rows.All(b => b.IsMatched)
            ? $"{sample}, compute-matched: each trains rounds × its client's steps per round ({StepRange(rows)} steps)"
            : $"{sample}, {BaselineEntry.NotMatched}: baseline_steps {rows[0].Steps} each";
    }

    private static string StepRange(IReadOnlyList<BaselineEntry> rows) =>
        rows.Min(b => b.Steps) is var low && rows.Max(b => b.Steps) is var high && low == high ? $"{low}" : $"{low}–{high}";

    /// <summary>Per-client local-only baselines in client order.</summary>
    public IReadOnlyList<BaselineEntry> LocalOnly =>
        Baselines.Where(b => b.Name == BaselineEntry.Local && b.Client is not null).OrderBy(b => b.Client, ClientIdComparer.Instance).ToList();

    /// <summary>Mean global test loss of the local-only models (the usual single number to compare federated against).</summary>
    public double? MeanLocalOnlyLoss
    {
        get
        {
            var losses = LocalOnly.Select(b => b.GlobalLoss).OfType<double>().ToList();
            return losses.Count == 0 ? null : losses.Average();
        }
    }

    /// <summary>The client evaluations of the latest round that has any, in client order.</summary>
    public IReadOnlyList<ClientEvalEntry> LastClientEvals
    {
        get
        {
            if (ClientEvals.Count == 0) return [];
            var last = ClientEvals.Max(e => e.Round);
            return ClientEvals.Where(e => e.Round == last).OrderBy(e => e.Client, ClientIdComparer.Instance).ToList();
        }
    }

    public static RunMetrics Read(string runFolder)
    {
        var path = Path.Combine(runFolder, FileName);
        if (!File.Exists(path)) return new RunMetrics([], [], []);

        var text = File.ReadAllText(path);
        var lines = text.Split('\n');
        var rounds = new SortedDictionary<int, RoundEntry>();
        var evals = new Dictionary<(int, string), ClientEvalEntry>();
        var baselines = new Dictionary<(string, string?), BaselineEntry>();
        var times = new Dictionary<(int, string), ClientTimeEntry>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var where = $"{path} line {i + 1}";
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(lines[i]);
            }
            catch (JsonException) when (i == lines.Length - 1 && !text.EndsWith('\n'))
            {
                continue; // a torn final append from a crash mid-write: everything before it is intact
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{where}: not valid JSON ({ex.Message}).", ex);
            }
            using (doc)
                Add(doc.RootElement, where, rounds, evals, baselines, times);
        }
        return new RunMetrics([.. rounds.Values], [.. evals.Values], [.. baselines.Values])
        {
            ClientTimes = [.. times.Values.OrderBy(t => t.Round).ThenBy(t => t.Client, StringComparer.Ordinal)],
        };
    }

    private static void Add(JsonElement line, string where, SortedDictionary<int, RoundEntry> rounds,
        Dictionary<(int, string), ClientEvalEntry> evals, Dictionary<(string, string?), BaselineEntry> baselines,
        Dictionary<(int, string), ClientTimeEntry> times)
    {
        if (line.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected a JSON object per line.");
        ReportJson.Require(line, "kind", where);
        switch (line.GetProperty("kind").GetString())
        {
            case "round":
                ReportJson.Require(line, "round", where);
                var round = ReportJson.Read<RoundEntry>(line, where);
                rounds[round.Round] = round;
                break;
            case "client_eval":
                ReportJson.Require(line, "round", where);
                ReportJson.Require(line, "client", where);
                var eval = ReportJson.Read<ClientEvalEntry>(line, where);
                evals[(eval.Round, eval.Client)] = eval;
                break;
            case ClientTimeEntry.Kind:
                ReportJson.Require(line, "round", where);
                ReportJson.Require(line, "client", where);
                var time = ReportJson.Read<ClientTimeEntry>(line, where);
                times[(time.Round, time.Client)] = time;
                break;
            case "baseline":
                ReportJson.Require(line, "name", where);
                var baseline = ReportJson.Read<BaselineEntry>(line, where);
                baselines[(baseline.Name, baseline.Client)] = baseline;
                break;
        }
    }
}
