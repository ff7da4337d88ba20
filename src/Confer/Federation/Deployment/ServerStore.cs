using System.Diagnostics;
using Confer.Federation.Rounds;
using Microsoft.Data.Sqlite;

namespace Confer.Federation.Deployment;

/// <summary>
/// The gRPC server's durable state in one SQLite file, <c>&lt;state&gt;/server.db</c>: the client registry (token
/// hashes), the run's record (<see cref="IRunStore"/>: committed rounds with metrics, traffic and client evaluations),
/// run identity (<see cref="SetMeta"/>) and an event log. Tensors are not here; they live in safetensors files beside it
/// (<see cref="RunLayout"/>).
/// </summary>
/// <remarks>
/// Every write is one transaction with <c>synchronous=FULL</c> in WAL mode, so a call that returned has reached the
/// disk and survives kill -9 or power loss. Another process (<c>confer token</c>) may change the registry while the
/// server runs; <see cref="Authenticate"/> reads the table on each call, so it sees those changes at once.
/// <para>
/// Threads share one connection under a lock. SQLite admits one writer at a time anyway, and the server calls this a
/// few times per client per round, so the lock costs nothing measurable; one connection keeps per-call cost to a
/// statement (no open, no pragma setup) and gives one place to hold the batched <see cref="Touch"/> times.
/// </para>
/// </remarks>
internal sealed class ServerStore : IRunStore, IDisposable
{
    public const string FileName = "server.db";

    /// <summary>meta key: when the run's final model was exported (UTC); its presence means the run is finished.</summary>
    internal const string FinishedKey = "finished_utc";

    /// <summary>The event log keeps this many most recent events, so a client hammering a bad token cannot fill the disk.</summary>
    private const int EventsKept = 10_000;

    /// <summary>Distinct refusal causes held between flushes.</summary>
    private const int MaxRefusalCauses = 100;

    /// <summary>Pending <see cref="Touch"/> times are written at most this often (each commit is an fsync).</summary>
    private static readonly TimeSpan TouchFlushInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, DateTime> _pendingTouches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _pendingRefusals = new(StringComparer.Ordinal);
    private readonly Stopwatch _sinceTouchFlush = Stopwatch.StartNew();
    private readonly Timer _flushTimer;
    private bool _disposed;

    private ServerStore(SqliteConnection connection, string folder)
    {
        _connection = connection;
        Folder = folder;
        // Pending writes reach the disk within one interval even when no further call comes to trigger them.
        _flushTimer = new Timer(_ =>
        {
            try
            {
                lock (_lock)
                    if (!_disposed) FlushPending();
            }
            catch (SqliteException)
            {
                // Last-seen times and refusal counts are advisory: a failed write (disk full) must not take the server
                // down from a timer thread; they are written again with the next flush.
            }
        }, null, TouchFlushInterval, TouchFlushInterval);
    }

    /// <summary>The state folder.</summary>
    public string Folder { get; }

    /// <summary>Opens (creating the folder and schema if needed) <c>&lt;stateFolder&gt;/server.db</c>.</summary>
    public static ServerStore Open(string stateFolder)
    {
        var folder = Path.GetFullPath(stateFolder);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, FileName);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false, // the store holds its connection for its lifetime; dispose must release the file
            DefaultTimeout = 5,
        }.ToString());
        try
        {
            connection.Open();
            connection.Pragma("busy_timeout = 5000");
            if (!string.Equals(connection.Pragma("journal_mode = WAL"), "wal", StringComparison.OrdinalIgnoreCase))
                throw new NotSupportedException($"{path}: SQLite cannot use WAL mode on this file system; put --state on a local disk.");
            connection.Pragma("synchronous = FULL");
            connection.Pragma("foreign_keys = ON");
            ServerSchema.Ensure(connection, path);
            // SQLite opens a file it may not write read-only without a word, and the server would find out at its
            // first commit, mid-run. One write, rolled back, turns that into an error at start.
            connection.Execute("BEGIN; UPDATE schema_version SET version = version; ROLLBACK;");
            return new ServerStore(connection, folder);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 26) // SQLITE_NOTADB
        {
            connection.Dispose();
            throw new InvalidDataException($"{path} is not a SQLite database; move it away or use another --state folder.", e);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new InvalidDataException(
                $"{path}: cannot be opened for writing ({e.Message.TrimEnd('.')}); the server needs to write its state folder: check its permissions and free space.", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Issues a new token for <paramref name="clientId"/>, enrolling it if new, and returns the plaintext, which is not
    /// kept. A client with an active token gets a new one only with <paramref name="rotate"/>, and the old one stops
    /// working; a revoked client is re-enabled with a new token.
    /// </summary>
    public string IssueToken(string clientId, bool rotate = false)
    {
        ClientToken.ValidateId(clientId);
        var token = ClientToken.New();
        lock (_lock)
        {
            using var transaction = Connection.BeginTransaction();
            var active = Connection.Scalar("SELECT token_hash IS NOT NULL FROM clients WHERE id = $id", ("$id", clientId));
            if (active is 1L && !rotate)
                throw new ArgumentException($"Client '{clientId}' already has an active token. Rotate it to issue a new one " +
                                            $"(confer token add {clientId} --rotate); the old token then stops working.");
            Connection.Execute(active is null
                    ? "INSERT INTO clients (id, token_hash, enrolled_utc) VALUES ($id, $hash, $now)"
                    : "UPDATE clients SET token_hash = $hash, revoked_utc = NULL WHERE id = $id",
                ("$id", clientId), ("$hash", ClientToken.Hash(token)), ("$now", StoreTime.Stamp(DateTime.UtcNow)));
            transaction.Commit();
        }
        return token;
    }

    /// <summary>Revokes the client's token; revoking a revoked client does nothing.</summary>
    public void Revoke(string clientId)
    {
        lock (_lock)
        {
            var changed = Connection.Execute("UPDATE clients SET token_hash = NULL, revoked_utc = coalesce(revoked_utc, $now) WHERE id = $id",
                ("$id", clientId), ("$now", StoreTime.Stamp(DateTime.UtcNow)));
            if (changed == 0) throw new ArgumentException($"Unknown client '{clientId}': it was never enrolled (see confer token list).");
        }
    }

    /// <summary>Every enrolled client, in enrolment order.</summary>
    public IReadOnlyList<EnrolledClient> Clients()
    {
        lock (_lock)
        {
            FlushPending();
            using var command = Connection.Command("SELECT id, revoked_utc IS NOT NULL, enrolled_utc, last_seen_utc FROM clients ORDER BY seq");
            using var reader = command.ExecuteReader();
            var clients = new List<EnrolledClient>();
            while (reader.Read())
                clients.Add(new EnrolledClient(reader.GetString(0), reader.GetBoolean(1), StoreTime.Parse(reader.GetString(2)),
                    reader.IsDBNull(3) ? null : StoreTime.Parse(reader.GetString(3))));
            return clients;
        }
    }

    /// <summary>The id of the client holding <paramref name="token"/>, or null for an unknown or revoked token.</summary>
    public string? Authenticate(string token)
    {
        if (!token.StartsWith(ClientToken.Prefix, StringComparison.Ordinal)) return null;
        lock (_lock)
            return Connection.Scalar("SELECT id FROM clients WHERE token_hash = $hash", ("$hash", ClientToken.Hash(token))) as string;
    }

    /// <summary>
    /// Records that the client was seen at <paramref name="utc"/>. Held in memory and written in one batch at most every
    /// ten seconds, and by <see cref="Clients"/>, <see cref="CommitRound"/> and <see cref="Dispose"/>: last-seen is
    /// advisory, and a commit per call would put an fsync on every RPC.
    /// </summary>
    public void Touch(string clientId, DateTime utc)
    {
        var stamp = StoreTime.Utc(utc);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_pendingTouches.TryGetValue(clientId, out var held) || stamp > held) _pendingTouches[clientId] = stamp;
            if (_sinceTouchFlush.Elapsed >= TouchFlushInterval) FlushPending();
        }
    }

    /// <summary>The highest committed training round, or 0 before the first.</summary>
    public int LastCompletedRound()
    {
        lock (_lock) return LastRound();
    }

    /// <summary>
    /// Commits a record in one transaction: round 0 (the starting model) once, before any other, then rounds in order,
    /// each once: round N needs round N−1.
    /// </summary>
    public void CommitRound(RoundRecord r)
    {
        r.Validate();
        lock (_lock)
        {
            FlushPending();
            using var transaction = Connection.BeginTransaction();
            var last = LastRound();
            var hasStart = Connection.Scalar("SELECT 1 FROM rounds WHERE round = 0") is not null;
            if (r.Round == 0 ? hasStart || last > 0 : r.Round <= last)
                throw new InvalidOperationException($"Round {r.Round} is already committed (last completed round: {last}).");
            if (r.Round > 0 && r.Round != last + 1)
                throw new InvalidOperationException($"Cannot commit round {r.Round}: the next round to commit is {last + 1}.");
            RoundRecords.Insert(Connection, r, DateTime.UtcNow);
            transaction.Commit();
        }
    }

    public bool IsFinished => GetMeta(FinishedKey) is not null;

    public void MarkFinished() => SetMeta(FinishedKey, StoreTime.Stamp(DateTime.UtcNow));

    /// <summary>Every committed record, in order.</summary>
    public IReadOnlyList<RoundRecord> Rounds()
    {
        lock (_lock)
        {
            using var transaction = Connection.BeginTransaction(deferred: true); // one consistent snapshot of three tables
            return RoundRecords.ReadAll(Connection);
        }
    }

    /// <summary>Sets a run-identity value (e.g. the config fingerprint, or the <c>finished</c> marker).</summary>
    public void SetMeta(string key, string value)
    {
        lock (_lock)
            Connection.Execute("INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                ("$key", key), ("$value", value));
    }

    public string? GetMeta(string key)
    {
        lock (_lock) return Connection.Scalar("SELECT value FROM meta WHERE key = $key", ("$key", key)) as string;
    }

    /// <summary>Logs a rejected update, an authentication failure or the like, stamped now; old events beyond the most recent 10,000 are dropped.</summary>
    public void LogEvent(string kind, string? clientId, string message)
    {
        lock (_lock)
        {
            using var transaction = Connection.BeginTransaction();
            Connection.Execute("INSERT INTO events (utc, kind, client_id, message) VALUES ($utc, $kind, $client, $message)",
                ("$utc", StoreTime.Stamp(DateTime.UtcNow)), ("$kind", kind), ("$client", clientId), ("$message", message));
            Connection.Execute($"DELETE FROM events WHERE seq <= last_insert_rowid() - {EventsKept}");
            transaction.Commit();
        }
    }

    /// <summary>
    /// Counts a refused call (an unknown or revoked token) without writing: one client hammering the server with a bad
    /// token must not put an fsync on every call, under the lock good clients' calls need. The counts are written as
    /// one event per cause at most every ten seconds, and on <see cref="Dispose"/>.
    /// </summary>
    public void RecordRefusal(string cause)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // Distinct causes are bounded too: a caller varying its peer address must not grow this without limit.
            if (!_pendingRefusals.ContainsKey(cause) && _pendingRefusals.Count >= MaxRefusalCauses) cause = "other refused calls";
            _pendingRefusals[cause] = _pendingRefusals.GetValueOrDefault(cause) + 1;
            if (_sinceTouchFlush.Elapsed >= TouchFlushInterval) FlushPending();
        }
    }

    /// <summary>The most recent <paramref name="last"/> events, oldest first.</summary>
    public IReadOnlyList<(DateTime Utc, string Kind, string? ClientId, string Message)> Events(int last = 100)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(last);
        lock (_lock)
        {
            using var command = Connection.Command("SELECT utc, kind, client_id, message FROM (SELECT * FROM events ORDER BY seq DESC LIMIT $last) ORDER BY seq");
            command.Bind(("$last", last));
            using var reader = command.ExecuteReader();
            var events = new List<(DateTime, string, string?, string)>();
            while (reader.Read())
                events.Add((StoreTime.Parse(reader.GetString(0)), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3)));
            return events;
        }
    }

    /// <summary>Writes pending <see cref="Touch"/> times and closes the file.</summary>
    public void Dispose()
    {
        _flushTimer.Dispose();
        lock (_lock)
        {
            if (_disposed) return;
            try
            {
                FlushPending();
            }
            finally
            {
                _disposed = true;
                _connection.Dispose();
            }
        }
    }

    private SqliteConnection Connection
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _connection;
        }
    }

    private int LastRound() => (int)(long)Connection.Scalar("SELECT coalesce(max(round), 0) FROM rounds")!;

    /// <summary>Writes the pending last-seen times and refusal counts in one transaction.</summary>
    private void FlushPending()
    {
        _sinceTouchFlush.Restart();
        if (_pendingTouches.Count == 0 && _pendingRefusals.Count == 0) return;
        using var transaction = Connection.BeginTransaction();
        foreach (var (cause, count) in _pendingRefusals)
            Connection.Execute("INSERT INTO events (utc, kind, client_id, message) VALUES ($utc, 'unauthenticated', NULL, $message)",
                ("$utc", StoreTime.Stamp(DateTime.UtcNow)), ("$message", count == 1 ? cause : $"{cause} (×{count})"));
        _pendingRefusals.Clear();
        using var command = Connection.Command("UPDATE clients SET last_seen_utc = max(coalesce(last_seen_utc, ''), $utc) WHERE id = $id");
        foreach (var (id, utc) in _pendingTouches)
        {
            command.Bind(("$id", id), ("$utc", StoreTime.Stamp(utc)));
            command.ExecuteNonQuery();
        }
        transaction.Commit();
        _pendingTouches.Clear();
    }
}
