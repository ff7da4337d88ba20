using System.Security.Cryptography;
using System.Text;
using Confer.Federation;
using Confer.Federation.Deployment;
using Confer.Federation.Rounds;
using Microsoft.Data.Sqlite;

namespace Confer.Tests.Deployment;

public sealed class ServerStoreTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string State => _dir.File("state");

    private static RoundRecord Round(int round, params string[] selected) =>
        new(round, selected, selected[..^1], [new DroppedClient(selected[^1], "timeout after 60 s")], 40L * round,
            new Dictionary<string, double> { ["train_loss"] = 2.5 / round, ["eval_loss"] = double.NaN },
            [.. selected.Select((c, i) => new ClientTraffic(round, c, new TransferCost(100 + i, 400 + 4 * i), i < selected.Length - 1 ? new TransferCost(100 + i, 400 + 4 * i) : TransferCost.Zero))],
            [new ClientEvaluation(selected[0], 2.75, 9)], 12.25 * round);

    [Fact]
    public void IssuedTokenAuthenticatesItsClientUntilRevoked()
    {
        using var store = ServerStore.Open(State);
        var token = store.IssueToken("hospital-1");
        var other = store.IssueToken("lab.2");

        Assert.Matches("^cft_[A-Za-z0-9_-]{43}$", token);
        Assert.NotEqual(token, other);
        Assert.Equal("hospital-1", store.Authenticate(token));
        Assert.Equal("lab.2", store.Authenticate(other));
        Assert.Null(store.Authenticate(token[..^1] + (token[^1] == 'A' ? 'B' : 'A')));
        Assert.Null(store.Authenticate(token[4..])); // the same secret without its prefix

        store.Revoke("hospital-1");
        Assert.Null(store.Authenticate(token));
        Assert.Equal("lab.2", store.Authenticate(other));
        Assert.Equal([("hospital-1", true), ("lab.2", false)], store.Clients().Select(c => (c.Id, c.Revoked)));
        Assert.Contains("never enrolled", Assert.Throws<ArgumentException>(() => store.Revoke("nobody")).Message);
    }

    [Fact]
    public void SecondTokenNeedsRotateWhichRetiresTheFirst()
    {
        using var store = ServerStore.Open(State);
        var first = store.IssueToken("c1");
        store.IssueToken("c2");
        var error = Assert.Throws<ArgumentException>(() => store.IssueToken("c1"));
        Assert.Contains("'c1' already has an active token", error.Message);
        Assert.Contains("--rotate", error.Message);
        Assert.Equal("c1", store.Authenticate(first));

        var second = store.IssueToken("c1", rotate: true);
        Assert.Null(store.Authenticate(first));
        Assert.Equal("c1", store.Authenticate(second));

        store.Revoke("c1");
        var third = store.IssueToken("c1"); // a revoked client has no active token: no --rotate needed
        Assert.Equal("c1", store.Authenticate(third));
        Assert.Equal([("c1", false), ("c2", false)], store.Clients().Select(c => (c.Id, c.Revoked))); // enrolment order kept
    }

    [Fact]
    public void RegistryChangesThroughAnotherInstanceAreSeenAtOnce()
    {
        using var server = ServerStore.Open(State);
        var token = server.IssueToken("c1");
        Assert.Equal("c1", server.Authenticate(token));

        using (var cli = ServerStore.Open(State)) cli.Revoke("c1");
        Assert.Null(server.Authenticate(token));

        string reissued;
        using (var cli = ServerStore.Open(State)) reissued = cli.IssueToken("c1");
        Assert.Equal("c1", server.Authenticate(reissued));
    }

    [Fact]
    public void OnlyTheTokenHashIsStored()
    {
        var tokens = new List<string>();
        using (var store = ServerStore.Open(State))
        {
            tokens.Add(store.IssueToken("c1"));
            tokens.Add(store.IssueToken("c2"));
            tokens.Add(store.IssueToken("c1", rotate: true));
        }
        var bytes = Directory.GetFiles(State).SelectMany(File.ReadAllBytes).ToArray();
        foreach (var token in tokens)
            Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(token[4..])));
        // The live tokens' hashes are there, so the search above looked at the right bytes.
        Assert.NotEqual(-1, bytes.AsSpan().IndexOf(SHA256.HashData(Encoding.UTF8.GetBytes(tokens[2]))));
    }

    public static TheoryData<string> BadIds => ["", "has space", "-leading-dash", "_leading", "slash/id", "trailing-newline\n", new string('x', 65)];

    [Theory]
    [MemberData(nameof(BadIds))]
    public void BadClientIdIsRefusedWithTheRule(string id)
    {
        using var store = ServerStore.Open(State);
        var error = Assert.Throws<ArgumentException>(() => store.IssueToken(id));
        Assert.StartsWith($"Client id '{id}' is not valid: use 1–64 characters, letters, digits, '_', '.' or '-'", error.Message);
        Assert.Empty(store.Clients());
    }

    [Fact]
    public void LongestAndDottedClientIdsAreAccepted()
    {
        using var store = ServerStore.Open(State);
        var longest = new string('x', 64);
        store.IssueToken(longest);
        store.IssueToken("A.b_c-9");
        Assert.Equal([longest, "A.b_c-9"], store.Clients().Select(c => c.Id));
    }

    [Fact]
    public void RoundsCommitInOrderAndOnlyOnce()
    {
        using var store = ServerStore.Open(State);
        Assert.Equal(0, store.LastCompletedRound());
        Assert.Contains("next round to commit is 1", Assert.Throws<InvalidOperationException>(() => store.CommitRound(Round(2, "a", "b"))).Message);

        store.CommitRound(Round(1, "a", "b"));
        Assert.Equal(1, store.LastCompletedRound());
        Assert.Equal("Round 1 is already committed (last completed round: 1).",
            Assert.Throws<InvalidOperationException>(() => store.CommitRound(Round(1, "a", "b"))).Message);
        Assert.Contains("next round to commit is 2", Assert.Throws<InvalidOperationException>(() => store.CommitRound(Round(3, "a", "b"))).Message);

        store.CommitRound(Round(2, "a", "b"));
        Assert.Equal(2, store.LastCompletedRound());
        Assert.Equal([1, 2], store.Rounds().Select(r => r.Round));
    }

    [Fact]
    public void InconsistentRoundIsRefusedAndLeavesNothing()
    {
        using var store = ServerStore.Open(State);
        var stranger = Round(1, "a", "b") with { Aggregated = ["a", "z"] };
        Assert.Contains("'z' is listed as aggregated but was not selected", Assert.Throws<ArgumentException>(() => store.CommitRound(stranger)).Message);
        var twice = Round(1, "a", "b") with { Selected = ["a", "b", "a"] };
        Assert.Contains("'a' appears twice among the selected clients", Assert.Throws<ArgumentException>(() => store.CommitRound(twice)).Message);
        Assert.Equal(0, store.LastCompletedRound());
        Assert.Empty(store.Rounds());
    }

    [Fact]
    public void RoundsReadBackExactlyAfterReopen()
    {
        var written = new[] { Round(1, "c3", "c1", "c2"), Round(2, "c2", "c9") with { Metrics = new Dictionary<string, double>() } };
        using (var store = ServerStore.Open(State))
            foreach (var round in written) store.CommitRound(round);

        using var reopened = ServerStore.Open(State);
        Assert.Equal(2, reopened.LastCompletedRound());
        var read = reopened.Rounds();
        Assert.Equal(written.Length, read.Count);
        foreach (var (expected, actual) in written.Zip(read))
        {
            Assert.Equal(expected.Round, actual.Round);
            Assert.Equal(expected.Selected, actual.Selected); // selection order, not sorted
            Assert.Equal(expected.Aggregated, actual.Aggregated);
            Assert.Equal(expected.Dropped, actual.Dropped);
            Assert.Equal(expected.Examples, actual.Examples);
            Assert.Equal(expected.Metrics.OrderBy(m => m.Key), actual.Metrics.OrderBy(m => m.Key)); // NaN survives
            Assert.Equal(expected.Traffic.OrderBy(t => t.ClientId, StringComparer.Ordinal), actual.Traffic);
            Assert.Equal(expected.ClientEvaluations, actual.ClientEvaluations);
            Assert.Equal(expected.Seconds, actual.Seconds);
        }
    }

    [Fact]
    public void CommittedRoundIsOnDiskBeforeTheStoreCloses()
    {
        using var store = ServerStore.Open(State);
        store.CommitRound(Round(1, "a", "b"));
        store.SetMeta("config", "sha256:abc");

        // What a kill -9 leaves: the files as they are now, with the store still open and never disposed.
        var crashed = _dir.File("crashed");
        Directory.CreateDirectory(crashed);
        foreach (var file in Directory.GetFiles(State).Where(f => !f.EndsWith("-shm", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(crashed, Path.GetFileName(file)));

        using var recovered = ServerStore.Open(crashed);
        Assert.Equal(1, recovered.LastCompletedRound());
        Assert.Equal(["a", "b"], recovered.Rounds().Single().Selected);
        Assert.Equal("sha256:abc", recovered.GetMeta("config"));
    }

    [Fact]
    public void TouchKeepsTheLatestTimeAndIsWrittenByDispose()
    {
        var early = new DateTime(2025, 3, 1, 9, 0, 0, DateTimeKind.Utc);
        var late = early.AddMinutes(5);
        using (var store = ServerStore.Open(State))
        {
            store.IssueToken("c1");
            store.IssueToken("c2");
            store.Touch("c1", late);
            Assert.Equal([late, null], store.Clients().Select(c => c.LastSeenUtc));
            store.Touch("c1", early); // an RPC that finished late must not move last-seen back
            store.Touch("c2", early);
            Assert.Throws<ArgumentException>(() => store.Touch("c2", early.ToLocalTime()));
        }
        using var reopened = ServerStore.Open(State);
        Assert.Equal([late, early], reopened.Clients().Select(c => c.LastSeenUtc));
    }

    [Fact]
    public void ConcurrentCallsFromManyThreadsShareTheStore()
    {
        using var store = ServerStore.Open(State);
        var tokens = Enumerable.Range(0, 4).Select(i => store.IssueToken($"c{i}")).ToArray();
        var seen = new DateTime(2025, 3, 1, 9, 0, 0, DateTimeKind.Utc);
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var id = store.Authenticate(tokens[i % 4]);
            Assert.Equal($"c{i % 4}", id);
            store.Touch(id!, seen.AddSeconds(i));
            if (i % 40 == 0) store.LogEvent("auth", id, $"call {i}");
        });
        Assert.Equal(10, store.Events().Count);
        Assert.Equal(Enumerable.Range(396, 4).Select(i => (DateTime?)seen.AddSeconds(i)), store.Clients().Select(c => c.LastSeenUtc));
    }

    [Fact]
    public void MetaAndEventsPersist()
    {
        using (var store = ServerStore.Open(State))
        {
            Assert.Null(store.GetMeta("config"));
            store.SetMeta("config", "one");
            store.SetMeta("config", "two");
            store.LogEvent("auth", null, "unknown token from 10.0.0.7");
            store.LogEvent("rejected", "c1", "update has NaN in layers.0.q_proj.lora_A");
            store.LogEvent("rejected", "c2", "round 3 update for round 2");
        }
        using var reopened = ServerStore.Open(State);
        Assert.Equal("two", reopened.GetMeta("config"));
        var events = reopened.Events(last: 2);
        Assert.Equal([("rejected", "c1", "update has NaN in layers.0.q_proj.lora_A"), ("rejected", "c2", "round 3 update for round 2")],
            events.Select(e => (e.Kind, e.ClientId, e.Message)));
        Assert.Equal(3, reopened.Events().Count);
        Assert.Null(reopened.Events()[0].ClientId);
        Assert.InRange(DateTime.UtcNow - events[0].Utc, TimeSpan.Zero, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void DatabaseFromANewerSchemaIsRefused()
    {
        ServerStore.Open(State).Dispose();
        var path = Path.Combine(State, ServerStore.FileName);
        using (var raw = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = "UPDATE schema_version SET version = 99";
            command.ExecuteNonQuery();
        }
        var error = Assert.Throws<InvalidDataException>(() => ServerStore.Open(State));
        Assert.StartsWith($"{path} has schema version 99, written by a newer Confer", error.Message);
    }

    [Fact]
    public void FileThatIsNotADatabaseIsNamed()
    {
        Directory.CreateDirectory(State);
        var path = Path.Combine(State, ServerStore.FileName);
        File.WriteAllText(path, new string('x', 4096));
        var error = Assert.Throws<InvalidDataException>(() => ServerStore.Open(State));
        Assert.Equal($"{path} is not a SQLite database; move it away or use another --state folder.", error.Message);
    }
}
