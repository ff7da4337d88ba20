using System.Text.Json.Nodes;
using Confer.Federation.Rounds;
using Microsoft.Extensions.Logging;

namespace Confer.Federation.Deployment;

/// <summary>
/// The deployed server's status view and log: it follows the round driver's progress (phase, round, finished rounds),
/// writes it to the server log, and answers <c>/status</c> from that, the gRPC gate's snapshot and the store.
/// </summary>
internal sealed class ServerStatus(string runName, string strategy, int rounds, GrpcClientPool pool, ServerStore store, ILogger log) : IRoundProgress
{
    private readonly Lock _gate = new();
    private string _phase = "starting";
    private int _round;

    public void Phase(string message, int round = 0)
    {
        lock (_gate)
        {
            _phase = message;
            if (round > 0) _round = round;
        }
        if (message is "finished" or "exporting the final model" || message.StartsWith("resuming", StringComparison.Ordinal))
            log.LogInformation("{Phase}", char.ToUpperInvariant(message[0]) + message[1..]);
    }

    public void Warning(string message)
    {
        log.LogWarning("{Message}", message);
        store.LogEvent("warning", null, message);
    }

    // The privacy note is the one simulate's round lines print (ε at δ under DP, the compliance rate), so an operator
    // reads the budget spent without decoding the metrics list. Per-client values (a FedCoT site's accuracy) stay out of
    // the line, which would otherwise grow with every site; their mean is in it, each value in /status and server.db.
    public void RoundFinished(RoundRecord r)
    {
        var shown = r.Metrics.Where(m => !MetricNames.IsPerClient(m.Key)).OrderBy(m => m.Key, StringComparer.Ordinal).ToList();
        var perClient = r.Metrics.Count - shown.Count;
        log.LogInformation("Round {Round} committed: {Returned} of {Selected} returned, up {Up} B, down {Down} B{Privacy}, metrics {Metrics}{PerClient}", r.Round,
            r.Aggregated.Count, r.Selected.Count, r.Up.Bytes, r.Down.Bytes, RoundNotes.Privacy(r),
            string.Join(", ", shown.Select(m => $"{m.Key}={m.Value:G5}")),
            perClient > 0 ? $" (and {perClient} per-client values: /status, server.db)" : "");
    }

    public JsonObject ToJson()
    {
        var records = store.Rounds().Where(r => r.Round > 0).ToList();
        var snapshot = pool.Snapshot();
        string phase;
        int round;
        lock (_gate) (phase, round) = (_phase, _round);
        var status = new JsonObject
        {
            ["run"] = runName, ["strategy"] = strategy, ["phase"] = phase, ["round"] = round, ["rounds"] = rounds,
            ["completed_rounds"] = records.Count, ["finished"] = store.IsFinished,
            ["clients"] = new JsonObject
            {
                ["enrolled"] = snapshot.Enrolled, ["connected"] = Ids(snapshot.Connected), ["selected"] = Ids(snapshot.Selected), ["returned"] = Ids(snapshot.Returned),
                ["dropped"] = new JsonObject(snapshot.Dropped.Select(d => KeyValuePair.Create(d.Key, (JsonNode?)d.Value))),
            },
        };
        if (snapshot.DeadlineSeconds is { } deadline) status["deadline_s"] = deadline;
        if (snapshot.Exchange is { } exchange) status["exchange"] = exchange;
        if (records.Count > 0)
            status["last_round"] = new JsonObject
            {
                ["round"] = records[^1].Round, ["returned"] = Ids(records[^1].Aggregated),
                ["metrics"] = new JsonObject(records[^1].Metrics.Where(m => double.IsFinite(m.Value)).Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))),
            };
        return status;
    }

    private static JsonArray Ids(IEnumerable<string> ids) => new([.. ids.Select(id => (JsonNode)id)]);
}
