using Microsoft.Data.Sqlite;

namespace Confer.Federation.Deployment;

/// <summary>
/// <see cref="CompletedRound"/> as rows: <c>rounds</c>, <c>round_clients</c> (role and position keep each list's order)
/// and <c>round_metrics</c>. SQLite stores a NaN REAL as NULL, so a NULL metric reads back as NaN. The caller owns the
/// transaction.
/// </summary>
internal static class RoundRecords
{
    public static void Insert(SqliteConnection connection, CompletedRound r)
    {
        connection.Execute("INSERT INTO rounds (round, seconds, finished_utc) VALUES ($round, $seconds, $finished)",
            ("$round", r.Round), ("$seconds", r.Seconds), ("$finished", StoreTime.Stamp(r.FinishedUtc)));
        using var client = connection.Command(
            "INSERT INTO round_clients (round, role, position, client_id, reason) VALUES ($round, $role, $position, $client, $reason)");
        InsertClients(client, r.Round, "selected", r.Selected.Select(id => (id, (string?)null)));
        InsertClients(client, r.Round, "returned", r.Returned.Select(id => (id, (string?)null)));
        InsertClients(client, r.Round, "dropped", r.Dropped.Select(d => (d.ClientId, (string?)d.Reason)));
        using var metric = connection.Command("INSERT INTO round_metrics (round, name, value) VALUES ($round, $name, $value)");
        foreach (var (name, value) in r.Metrics)
        {
            metric.Bind(("$round", r.Round), ("$name", name), ("$value", double.IsNaN(value) ? null : value));
            metric.ExecuteNonQuery();
        }
    }

    public static IReadOnlyList<CompletedRound> ReadAll(SqliteConnection connection)
    {
        var clients = ReadClients(connection);
        var metrics = ReadMetrics(connection);
        var rounds = new List<CompletedRound>();
        using var command = connection.Command("SELECT round, seconds, finished_utc FROM rounds ORDER BY round");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var round = reader.GetInt32(0);
            var lists = clients.GetValueOrDefault(round, ([], [], []));
            rounds.Add(new CompletedRound(round, lists.Selected, lists.Returned, lists.Dropped,
                metrics.GetValueOrDefault(round) ?? new Dictionary<string, double>(StringComparer.Ordinal),
                reader.GetDouble(1), StoreTime.Parse(reader.GetString(2))));
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
}
