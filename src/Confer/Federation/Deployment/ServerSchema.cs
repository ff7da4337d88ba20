using Microsoft.Data.Sqlite;

namespace Confer.Federation.Deployment;

/// <summary>
/// The tables of server.db and their version. A database written by a newer Confer is refused rather than read with
/// the wrong assumptions; a future schema change bumps <see cref="Version"/> and adds its migration here.
/// </summary>
internal static class ServerSchema
{
    public const int Version = 3;

    // Times are StoreTime stamps. A revoked client keeps its row (enrolment order, audit) but loses its token hash.
    // round_timings (per-client round timings) came without a version bump: CREATE TABLE IF NOT EXISTS adds it to a
    // version-2 file, and an older Confer that ignores it reads everything else correctly.
    private const string Tables = """
        CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS clients (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            token_hash BLOB UNIQUE,
            enrolled_utc TEXT NOT NULL,
            revoked_utc TEXT,
            last_seen_utc TEXT,
            CHECK ((token_hash IS NULL) = (revoked_utc IS NOT NULL)));
        CREATE TABLE IF NOT EXISTS rounds (
            round INTEGER PRIMARY KEY,
            seconds REAL NOT NULL,
            finished_utc TEXT NOT NULL,
            examples INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS round_clients (
            round INTEGER NOT NULL REFERENCES rounds(round),
            role TEXT NOT NULL CHECK (role IN ('selected', 'returned', 'dropped')),
            position INTEGER NOT NULL,
            client_id TEXT NOT NULL,
            reason TEXT,
            PRIMARY KEY (round, role, position));
        CREATE TABLE IF NOT EXISTS round_metrics (
            round INTEGER NOT NULL REFERENCES rounds(round),
            name TEXT NOT NULL,
            value REAL,
            PRIMARY KEY (round, name));
        CREATE TABLE IF NOT EXISTS round_traffic (
            round INTEGER NOT NULL REFERENCES rounds(round),
            client_id TEXT NOT NULL,
            params_down INTEGER NOT NULL,
            bytes_down INTEGER NOT NULL,
            params_up INTEGER NOT NULL,
            bytes_up INTEGER NOT NULL,
            raw_bytes_down INTEGER NOT NULL,
            raw_bytes_up INTEGER NOT NULL,
            PRIMARY KEY (round, client_id));
        CREATE TABLE IF NOT EXISTS round_evaluations (
            round INTEGER NOT NULL REFERENCES rounds(round),
            client_id TEXT NOT NULL,
            loss REAL NOT NULL,
            examples INTEGER NOT NULL,
            PRIMARY KEY (round, client_id));
        CREATE TABLE IF NOT EXISTS round_timings (
            round INTEGER NOT NULL REFERENCES rounds(round),
            client_id TEXT NOT NULL,
            rank INTEGER NOT NULL,
            bytes_down INTEGER NOT NULL,
            bytes_up INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            download_s REAL NOT NULL,
            compute_s REAL NOT NULL,
            upload_s REAL NOT NULL,
            PRIMARY KEY (round, client_id));
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            utc TEXT NOT NULL,
            kind TEXT NOT NULL,
            client_id TEXT,
            message TEXT NOT NULL);
        """;

    /// <summary>Creates the tables on a new file, or checks the version of an existing one, in one write transaction.</summary>
    public static void Ensure(SqliteConnection connection, string path)
    {
        using var transaction = connection.BeginTransaction();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = Tables;
            create.ExecuteNonQuery();
        }
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT version FROM schema_version";
        switch (read.ExecuteScalar())
        {
            case null:
                read.CommandText = $"INSERT INTO schema_version (version) VALUES ({Version})";
                read.ExecuteNonQuery();
                break;
            case long found when found > Version:
                throw new InvalidDataException($"{path} has schema version {found}, written by a newer Confer than this one " +
                                               $"(which knows version {Version}). Upgrade Confer, or use another --state folder.");
            case 1L:
                // Version 2 records each round's example count, traffic and client evaluations (new tables above, created
                // in their current form).
                read.CommandText = $"ALTER TABLE rounds ADD COLUMN examples INTEGER NOT NULL DEFAULT 0; UPDATE schema_version SET version = {Version}";
                read.ExecuteNonQuery();
                break;
            case 2L:
                // Version 3 records the traffic's fp32 size before the codecs. Before it only the identity codec
                // existed, so what travelled was raw.
                read.CommandText = "ALTER TABLE round_traffic ADD COLUMN raw_bytes_down INTEGER NOT NULL DEFAULT 0; " +
                                   "ALTER TABLE round_traffic ADD COLUMN raw_bytes_up INTEGER NOT NULL DEFAULT 0; " +
                                   $"UPDATE round_traffic SET raw_bytes_down = bytes_down, raw_bytes_up = bytes_up; UPDATE schema_version SET version = {Version}";
                read.ExecuteNonQuery();
                break;
        }
        transaction.Commit();
    }
}
