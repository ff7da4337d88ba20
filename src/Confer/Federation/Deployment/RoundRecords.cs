using Confer.Federation.Rounds;
using Microsoft.Data.Sqlite;

namespace Confer.Federation.Deployment;

/// <summary>
/// <see cref="RoundRecord"/> as rows: <c>rounds</c>, <c>round_clients</c> (role and position keep each list's order),
/// <c>round_metrics</c>, <c>round_traffic</c>, <c>round_evaluations</c> and <c>round_timings</c>. SQLite stores a NaN REAL as NULL, so a
/// NULL metric reads back as NaN. The caller owns the transaction.
/// </summary>
internal static class RoundRecords
{
    public static void Insert(SqliteConnection connection, RoundRecord r, DateTime finishedUtc)
    {
        connection.Execute("INSERT INTO rounds (round, seconds, finished_utc, examples) VALUES ($round, $seconds, $finished, $examples)",
            ("$round", r.Round), ("$seconds", r.Seconds), ("$finished", StoreTime.Stamp(finishedUtc)), ("$examples", r.Examples));
        using (var client = connection.Command(
                   "INSERT INTO round_clients (round, role, position, client_id, reason) VALUES ($round, $role, $position, $client, $reason)"))
        {
            InsertClients(client, r.Round, "selected", r.Selected.Select(id => (id, (string?)null)));
            InsertClients(client, r.Round, "returned", r.Aggregated.Select(id => (id, (string?)null)));
            InsertClients(client, r.Round, "dropped", r.Dropped.Select(d => (d.ClientId, (string?)d.Reason)));
        }
        using (var metric = connection.Command("INSERT INTO round_metrics (round, name, value) VALUES ($round, $name, $value)"))
            foreach (var (name, value) in r.Metrics)
            {
                metric.Bind(("$round", r.Round), ("$name", name), ("$value", double.IsNaN(value) ? null : value));
                metric.ExecuteNonQuery();
            }
        using (var traffic = connection.Command(
                   "INSERT INTO round_traffic (round, client_id, params_down, bytes_down, params_up, bytes_up, raw_bytes_down, raw_bytes_up) " +
                   "VALUES ($round, $client, $pd, $bd, $pu, $bu, $rd, $ru)"))
            foreach (var t in r.Traffic)
            {
                traffic.Bind(("$round", r.Round), ("$client", t.ClientId), ("$pd", t.Down.Parameters), ("$bd", t.Down.Bytes), ("$pu", t.Up.Parameters), ("$bu", t.Up.Bytes),
                    ("$rd", t.Down.RawBytes), ("$ru", t.Up.RawBytes));
                traffic.ExecuteNonQuery();
            }
        using (var evaluation = connection.Command("INSERT INTO round_evaluations (round, client_id, loss, examples) VALUES ($round, $client, $loss, $examples)"))
            foreach (var e in r.ClientEvaluations)
            {
                evaluation.Bind(("$round", r.Round), ("$client", e.ClientId), ("$loss", e.Loss), ("$examples", e.Examples));
                evaluation.ExecuteNonQuery();
            }
        using var timing = connection.Command(
            "INSERT INTO round_timings (round, client_id, rank, bytes_down, bytes_up, tokens, download_s, compute_s, upload_s) VALUES ($round, $client, $rank, $bd, $bu, $tokens, $down, $compute, $up)");
        foreach (var t in r.Timings)
        {
            timing.Bind(("$round", r.Round), ("$client", t.ClientId), ("$rank", t.Rank), ("$bd", t.BytesDown), ("$bu", t.BytesUp), ("$tokens", t.Tokens),
                ("$down", t.DownloadSeconds), ("$compute", t.ComputeSeconds), ("$up", t.UploadSeconds));
            timing.ExecuteNonQuery();
        }
    }

    public static IReadOnlyList<RoundRecord> ReadAll(SqliteConnection connection)
    {
        var clients = ReadClients(connection);
        var metrics = ReadMetrics(connection);
        var traffic = ReadTraffic(connection);
        var evaluations = ReadEvaluations(connection);
        var timings = ReadTimings(connection);
        var rounds = new List<RoundRecord>();
        using var command = connection.Command("SELECT round, seconds, examples FROM rounds ORDER BY round");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var round = reader.GetInt32(0);
            var lists = clients.GetValueOrDefault(round, ([], [], []));
            rounds.Add(new RoundRecord(round, lists.Selected, lists.Returned, lists.Dropped, reader.GetInt64(2),
                metrics.GetValueOrDefault(round) ?? new Dictionary<string, double>(StringComparer.Ordinal),
                traffic.GetValueOrDefault(round) ?? [], evaluations.GetValueOrDefault(round) ?? [], reader.GetDouble(1))
            {
                Timings = timings.GetValueOrDefault(round) ?? [],
            });
        }
        return rounds;
    }

    private static void InsertClients(SqliteCommand command, int round, string role, IEnumerable<(string Id, string? Reason)> clients)
    {
        var position = 0;
        foreach (var (id, reason) in clients)
        {
            command.Bind(("$round", round), ("$role", role), ("$position", position++), ("$client", id), ("$reason", reason));
            command.ExecuteNonQuery();
        }
    }

    private static Dictionary<int, (List<string> Selected, List<string> Returned, List<DroppedClient> Dropped)> ReadClients(SqliteConnection connection)
    {
        var clients = new Dictionary<int, (List<string> Selected, List<string> Returned, List<DroppedClient> Dropped)>();
        using var command = connection.Command("SELECT round, role, client_id, reason FROM round_clients ORDER BY round, role, position");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var round = reader.GetInt32(0);
            if (!clients.TryGetValue(round, out var lists)) clients[round] = lists = ([], [], []);
            var id = reader.GetString(2);
            switch (reader.GetString(1))
            {
                case "selected": lists.Selected.Add(id); break;
                case "returned": lists.Returned.Add(id); break;
                default: lists.Dropped.Add(new DroppedClient(id, reader.GetString(3))); break;
            }
        }
        return clients;
    }

    private static Dictionary<int, Dictionary<string, double>> ReadMetrics(SqliteConnection connection)
    {
        var metrics = new Dictionary<int, Dictionary<string, double>>();
        using var command = connection.Command("SELECT round, name, value FROM round_metrics ORDER BY round, name");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var round = reader.GetInt32(0);
            if (!metrics.TryGetValue(round, out var values)) metrics[round] = values = new Dictionary<string, double>(StringComparer.Ordinal);
            values[reader.GetString(1)] = reader.IsDBNull(2) ? double.NaN : reader.GetDouble(2);
        }
        return metrics;
    }

    private static Dictionary<int, List<ClientTraffic>> ReadTraffic(SqliteConnection connection)
    {
        var traffic = new Dictionary<int, List<ClientTraffic>>();
        using var command = connection.Command(
            "SELECT round, client_id, params_down, bytes_down, params_up, bytes_up, raw_bytes_down, raw_bytes_up FROM round_traffic ORDER BY round, client_id");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var round = reader.GetInt32(0);
            if (!traffic.TryGetValue(round, out var list)) traffic[round] = list = [];
            list.Add(new ClientTraffic(round, reader.GetString(1), new TransferCost(reader.GetInt64(2), reader.GetInt64(6), reader.GetInt64(3)),
                new TransferCost(reader.GetInt64(4), reader.GetInt64(7), reader.GetInt64(5))));
        }
        return traffic;
    }

    private static Dictionary<int, List<ClientTiming>> ReadTimings(SqliteConnection connection)
    {
        var timings = new Dictionary<int, List<ClientTiming>>();
        using var command = connection.Command(
            "SELECT round, client_id, rank, bytes_down, bytes_up, tokens, download_s, compute_s, upload_s FROM round_timings ORDER BY round, client_id");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var round = reader.GetInt32(0);
            if (!timings.TryGetValue(round, out var list)) timings[round] = list = [];
            list.Add(new ClientTiming(reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5),
                reader.GetDouble(6), reader.GetDouble(7), reader.GetDouble(8)));
        }
        return timings;
    }

    private static Dictionary<int, List<ClientEvaluation>> ReadEvaluations(SqliteConnection connection)
    {
        var evaluations = new Dictionary<int, List<ClientEvaluation>>();
        using var command = connection.Command("SELECT round, client_id, loss, examples FROM round_evaluations ORDER BY round, client_id");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var round = reader.GetInt32(0);
            if (!evaluations.TryGetValue(round, out var list)) evaluations[round] = list = [];
            list.Add(new ClientEvaluation(reader.GetString(1), reader.GetDouble(2), reader.GetInt64(3)));
        }
        return evaluations;
    }
}
