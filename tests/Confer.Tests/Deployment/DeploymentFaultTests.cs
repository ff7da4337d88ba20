using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Confer.Compression;
using Confer.Federation.Deployment;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Grpc.Core;
using static TorchSharp.torch;

namespace Confer.Tests.Deployment;

/// <summary>
/// The deployment under the faults a real federation meets: a client process killed while it trains, the server
/// killed between rounds and started again, clients with unknown or revoked tokens, and updates that are corrupted,
/// truncated, malformed or poisoned. Each uses the real <c>confer</c> processes over TLS on 127.0.0.1.
/// </summary>
public class DeploymentFaultTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task AClientKilledWhileTrainingIsDroppedAndTheRunFinishesWithoutIt()
    {
        var ct = TestContext.Current.CancellationToken;
        // Enough local steps that the kill lands while the victim trains; two live clients may run a round.
        using var h = new DeploymentHarness(clients: 3, new Dictionary<string, string>
        {
            ["rounds"] = "2", ["local_steps"] = "6", ["min_available_clients"] = "2",
        });
        var server = h.StartServer();
        const string victimId = "client_1";
        var victim = h.StartClient(1);
        // The victim connects first, so round 1 (which starts once two clients are connected) selects it.
        await h.WaitForStatusAsync(s => Ids(s["clients"]!["connected"]).Contains(victimId), StartTimeout, server, ct);
        var survivors = new[] { h.StartClient(0), h.StartClient(2) };

        var training = await h.WaitForStatusAsync(s =>
            (int)s["round"]! == 1 && (string)s["phase"]! == "training" && Ids(s["clients"]!["selected"]).Contains(victimId)
            && !Ids(s["clients"]!["returned"]).Contains(victimId) && victim.Output.Contains("Round 1: training", StringComparison.Ordinal),
            StartTimeout, server, ct);
        victim.Kill();
        Assert.Equal(0, (int)training["completed_rounds"]!);

        await h.ExpectExitAsync(server, 0, TimeSpan.FromMinutes(3), ct);
        foreach (var c in survivors) await h.ExpectExitAsync(c, 0, TimeSpan.FromMinutes(1), ct);
        using var store = ServerStore.Open(h.StateFolder);
        var rounds = store.Rounds().Where(r => r.Round > 0).ToList();
        Assert.Equal([1, 2], rounds.Select(r => r.Round));
        var first = rounds[0];
        Assert.Contains(victimId, first.Selected);
        Assert.Equal(first.Selected.Where(c => c != victimId).Order(StringComparer.Ordinal), first.Aggregated.Order(StringComparer.Ordinal));
        Assert.NotEmpty(first.Aggregated);
        var dropped = Assert.Single(first.Dropped);
        Assert.Equal(victimId, dropped.ClientId);
        Assert.Contains("silent", dropped.Reason, StringComparison.Ordinal);
        var second = rounds[1];
        Assert.DoesNotContain(victimId, second.Selected);
        Assert.Equal(["client_0", "client_2"], second.Aggregated.Order(StringComparer.Ordinal));
        Assert.True(File.Exists(h.FinalAdapter), h.Logs);
        foreach (var c in survivors)
        {
            Assert.DoesNotContain("Server unreachable", c.Output, StringComparison.Ordinal);
            foreach (var r in rounds) Assert.Equal(r.Selected.Contains(c.Name) ? 1 : 0, TrainingsOf(c, r.Round));
        }
    }

    [Fact]
    public async Task AServerKilledMidRunResumesFromItsLastCommittedRoundAndMatchesTheSimulation()
    {
        var ct = TestContext.Current.CancellationToken;
        // A fixed port: the clients keep the address they were given, so the restarted server must come back on it.
        using var h = new DeploymentHarness(clients: 2, new Dictionary<string, string> { ["listen"] = $"127.0.0.1:{DeploymentHarness.FreePort()}" });
        var server = h.StartServer();
        var url = h.Url;
        var clients = Enumerable.Range(0, 2).Select(i => h.StartClient(i)).ToList();
        var killedAt = await h.WaitForStatusAsync(s => (int)s["completed_rounds"]! >= 1 && (string)s["phase"]! == "training" && !(bool)s["finished"]!,
            StartTimeout, server, ct);
        server.Kill();
        var interrupted = (int)killedAt["round"]!;
        Assert.InRange(interrupted, 2, 3);

        var restarted = h.StartServer();
        Assert.Equal(url, h.Url);
        await h.ExpectExitAsync(restarted, 0, TimeSpan.FromMinutes(3), ct);
        foreach (var c in clients) await h.ExpectExitAsync(c, 0, TimeSpan.FromMinutes(1), ct);
        Assert.Contains($"Resuming after round {interrupted - 1}", restarted.Output, StringComparison.Ordinal);
        foreach (var c in clients)
        {
            Assert.Contains("Server unreachable", c.Output, StringComparison.Ordinal);
            // The interrupted round is trained again (unless the kill came before the client fetched it); no other round is.
            Assert.InRange(TrainingsOf(c, interrupted), 1, 2);
            foreach (var r in Enumerable.Range(1, 3).Where(r => r != interrupted)) Assert.Equal(1, TrainingsOf(c, r));
        }

        using (var store = ServerStore.Open(h.StateFolder))
        {
            var rounds = store.Rounds().Where(r => r.Round > 0).ToList();
            Assert.Equal([1, 2, 3], rounds.Select(r => r.Round));
            Assert.All(rounds, r => Assert.Equal(["client_0", "client_1"], r.Aggregated));
        }
        using var sim = new TempDir();
        var result = SimulationEngine.Run(h.SimulationSettings(sim.Path), Path.Combine(sim.Path, "sim"), resume: false, ct: TestContext.Current.CancellationToken);
        AdapterAssert.Equal(Path.Combine(result.RunFolder, "final", "adapter", "adapter_model.safetensors"), h.FinalAdapter, 1e-6);
    }

    [Fact]
    public async Task ClientsWithAnUnknownOrRevokedTokenAreRefusedAndLogged()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 2, new Dictionary<string, string> { ["min_available_clients"] = "1" });
        var server = h.StartServer();
        // client_1's token works until the operator revokes it, and stops working at once on the running server.
        using (var raw = new RawFederationClient(h, h.Token(1)))
        {
            var fingerprint = ModelFingerprint.Of(DeploymentHarness.ModelFolder);
            Assert.Equal("client_1", (await raw.JoinAsync(fingerprint, ct)).ClientId);
            using (var store = ServerStore.Open(h.StateFolder)) store.Revoke("client_1");
            var e = await Assert.ThrowsAsync<RpcException>(() => raw.JoinAsync(fingerprint, ct));
            Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        }
        var unknown = h.StartClient(0, token: ClientToken.New());
        var revoked = h.StartClient(1);
        foreach (var c in new[] { unknown, revoked })
        {
            await h.ExpectExitAsync(c, 2, TimeSpan.FromMinutes(1), ct);
            Assert.Contains("the server refused this client's token: unknown or revoked token", c.Output, StringComparison.Ordinal);
        }

        // A flood of bad tokens costs neither a disk write nor a log line each: it is counted and written in batches.
        await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            using var bad = new RawFederationClient(h, ClientToken.New());
            await Assert.ThrowsAsync<RpcException>(() => bad.JoinAsync("x", ct));
        }));
        var status = await h.StatusAsync(ct);
        Assert.False(server.HasExited, server.Output);
        Assert.Empty(Ids(status["clients"]!["connected"]));
        Assert.InRange(Regex.Count(server.Output, "Unauthenticated call"), 1, 10);
        // Refusals are counted in memory and written in one batch per cause within ten seconds.
        var until = DateTime.UtcNow.AddSeconds(30);
        List<(DateTime Utc, string Kind, string? ClientId, string Message)> refused;
        do
        {
            await Task.Delay(500, ct);
            using var store = ServerStore.Open(h.StateFolder);
            refused = [.. store.Events().Where(e => e.Kind == "unauthenticated")];
        }
        while (RefusalCount(refused) < 203 && DateTime.UtcNow < until);
        Assert.Equal(203, RefusalCount(refused));
        Assert.InRange(refused.Count, 1, 6);
        Assert.All(refused, e => Assert.Contains("unknown or revoked token from ipv4:127.0.0.1", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AStalledUploadIsDroppedLikeASilentClientAndTheRoundGoesOn()
    {
        var ct = TestContext.Current.CancellationToken;
        // heartbeat_s 1: silence means 3 s without a call or, while uploading, without a frame. The deadline is far
        // away, so only the silence rule can end the round early.
        using var h = new DeploymentHarness(clients: 2, new Dictionary<string, string>
        {
            ["rounds"] = "1", ["heartbeat_s"] = "1", ["round_deadline_s"] = "600",
        });
        var server = h.StartServer();
        var real = h.StartClient(0);
        using var raw = new RawFederationClient(h, h.Token(1));
        await raw.JoinAsync(ModelFingerprint.Of(DeploymentHarness.ModelFolder), ct);
        var taskId = await raw.PollForTaskAsync(StartTimeout, ct);
        var (task, adapter) = await raw.FetchAsync(taskId, ct);
        using (adapter)
        using (await raw.StallAsync(Header(task, adapter.Count), Frames(adapter, chunkBytes: 256).Take(1), ct))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await h.ExpectExitAsync(server, 0, TimeSpan.FromMinutes(2), ct);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"the round waited {clock.Elapsed} for a stalled upload");
        }
        await h.ExpectExitAsync(real, 0, TimeSpan.FromMinutes(1), ct);
        using var store = ServerStore.Open(h.StateFolder);
        var round = Assert.Single(store.Rounds().Where(r => r.Round > 0).ToList());
        Assert.Equal(["client_0"], round.Aggregated);
        Assert.Contains("its upload stalled", Assert.Single(round.Dropped).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryKindOfBadUpdateIsRefusedByNameAndTheRoundCompletesWithTheGoodClients()
    {
        var ct = TestContext.Current.CancellationToken;
        // client_0 is a real client process; client_9 pushes a good update; every other client pushes one kind of bad one.
        using var h = new DeploymentHarness(clients: 14, new Dictionary<string, string>
        {
            ["rounds"] = "1", ["max_update_norm"] = "5", ["heartbeat_s"] = "5",
        });
        var server = h.StartServer();
        var real = h.StartClient(0);
        var fingerprint = ModelFingerprint.Of(DeploymentHarness.ModelFolder);
        var raw = Enumerable.Range(1, h.ClientCount - 1).ToDictionary(DeploymentHarness.ClientId, i => new RawFederationClient(h, h.Token(i)));
        try
        {
            var taskIds = await Task.WhenAll(raw.Values.Select(async c =>
            {
                await c.JoinAsync(fingerprint, ct);
                return await c.PollForTaskAsync(StartTimeout, ct);
            }));
            Assert.Single(taskIds.Distinct());

            await GoodClientAsync(raw["client_9"], taskIds[0], ct);
            var reasons = new Dictionary<string, string>();
            foreach (var (id, kind) in BadUpdates)
            {
                var (task, adapter) = await raw[id].FetchAsync(taskIds[0], ct);
                using (adapter)
                {
                    var (header, frames, tensor, reason) = kind(task, adapter);
                    var e = await Assert.ThrowsAsync<RpcException>(() => raw[id].PushAsync(header, frames, ct));
                    Assert.True(e.StatusCode == StatusCode.InvalidArgument, $"{id}: {e.Status}");
                    Assert.Contains($"client '{id}'", e.Status.Detail, StringComparison.Ordinal);
                    if (tensor is not null) Assert.Contains(tensor, e.Status.Detail, StringComparison.Ordinal);
                    else Assert.DoesNotContain("tensor '", e.Status.Detail, StringComparison.Ordinal);
                    Assert.Contains(reason, e.Status.Detail, StringComparison.Ordinal);
                    reasons[id] = e.Status.Detail;
                }
            }

            await h.ExpectExitAsync(server, 0, TimeSpan.FromMinutes(2), ct);
            await h.ExpectExitAsync(real, 0, TimeSpan.FromMinutes(1), ct);
            Assert.DoesNotContain("Server unreachable", real.Output, StringComparison.Ordinal);
            Assert.Equal(1, TrainingsOf(real, 1));
            using var store = ServerStore.Open(h.StateFolder);
            var round = Assert.Single(store.Rounds().Where(r => r.Round > 0).ToList());
            // The server stayed up, and only the good updates shaped the global model.
            Assert.Equal(h.ClientCount, round.Selected.Count);
            Assert.Equal(["client_0", "client_9"], round.Aggregated.Order(StringComparer.Ordinal));
            var bad = BadUpdates.Select(b => b.Client).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(bad, round.Dropped.Select(d => d.ClientId).Order(StringComparer.Ordinal));
            foreach (var d in round.Dropped) Assert.Contains(d.Reason, reasons[d.ClientId], StringComparison.Ordinal);
            Assert.Equal(bad, store.Events().Where(e => e.Kind == "update_rejected").Select(e => e.ClientId!).Order(StringComparer.Ordinal));
            using var final = Safetensors.Load(h.FinalAdapter);
            Assert.All(final, kv => Assert.True(kv.Value.isfinite().all().item<bool>(), kv.Key));
        }
        finally
        {
            foreach (var c in raw.Values) c.Dispose();
        }
    }

    /// <summary>A push for a task that does not exist and a second push after an accepted one are refused without harm.</summary>
    private static async Task GoodClientAsync(RawFederationClient client, string taskId, CancellationToken ct)
    {
        var (task, adapter) = await client.FetchAsync(taskId, ct);
        using var update = adapter.Clone();
        adapter.Dispose();
        foreach (var (name, t) in update)
            if (name.Contains("lora_B", StringComparison.Ordinal))
                t.add_(0.001f);

        var stale = await Assert.ThrowsAsync<RpcException>(() => client.PushAsync(Header(task, update.Count, taskId: "1.1.gone"), Frames(update), ct));
        Assert.Equal(StatusCode.FailedPrecondition, stale.StatusCode);
        Assert.Contains("client 'client_9'", stale.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("'1.1.gone' is not open", stale.Status.Detail, StringComparison.Ordinal);

        Assert.Contains("update accepted", await client.PushAsync(Header(task, update.Count), Frames(update), ct), StringComparison.Ordinal);

        var again = await Assert.ThrowsAsync<RpcException>(() => client.PushAsync(Header(task, update.Count), Frames(update), ct));
        Assert.Equal(StatusCode.AlreadyExists, again.StatusCode);
        Assert.Contains("already received", again.Status.Detail, StringComparison.Ordinal);
    }

    private delegate (UpdateHeader Header, IReadOnlyList<TensorFrame> Frames, string? Tensor, string Reason) BadUpdate(TaskHeader task, NamedTensors adapter);

    /// <summary>One kind of bad update per client: what it sends, and the tensor and words the refusal must name.</summary>
    private static readonly (string Client, BadUpdate Make)[] BadUpdates =
    [
        ("client_1", (task, adapter) => Tampered(task, adapter, LoraB(adapter), t => t.view(-1)[0].fill_(float.NaN), "NaN")),
        ("client_2", (task, adapter) =>
        {
            using var update = adapter.Clone();
            const string extra = "model.layers.0.self_attn.q_proj.lora_C.weight";
            update.Add(extra, zeros(2, 2));
            return (Header(task, update.Count), Frames(update), extra, "unexpected tensors");
        }),
        ("client_3", (task, adapter) => Replaced(task, adapter, LoraB(adapter), t => zeros(t.shape[0], t.shape[1] + 1), "expected [")),
        ("client_4", (task, adapter) => Replaced(task, adapter, LoraB(adapter), t => t.to(ScalarType.Float16), "dtype")),
        ("client_5", (task, adapter) =>
            (Header(task, adapter.Count + 1), Frames(adapter), null, $"held {adapter.Count} tensors in 'update', its header announced {adapter.Count + 1} (truncated)")),
        ("client_6", (task, adapter) =>
        {
            // Small frames, so the last tensor spans several and its last one can go missing.
            var frames = Frames(adapter, chunkBytes: 256);
            Assert.False(frames[^2].Last, "the last tensor must span more than one frame");
            return (Header(task, adapter.Count), frames.Take(frames.Count - 1).ToList(), adapter.Names[^1], "truncated");
        }),
        ("client_7", (task, adapter) =>
        {
            var frames = Frames(adapter);
            var last = frames.Single(f => f.Name == LoraB(adapter));
            Assert.True(last.Last, "a small tensor travels in one frame");
            last.Crc32 ^= 1;
            return (Header(task, adapter.Count), frames, LoraB(adapter), "checksum mismatch");
        }),
        ("client_8", (task, adapter) => Tampered(task, adapter, LoraB(adapter), t => t.add_(100f), "above max_update_norm")),
        ("client_10", (task, adapter) =>
        {
            var header = Header(task, adapter.Count);
            header.Codec = "zstd-9000";
            return (header, Frames(adapter), null, "encoded with codec 'zstd-9000', but this run's uplink_codec is 'identity'");
        }),
        // A count that would overflow the sum of example counts, and one that would own the weighted average.
        ("client_11", (task, adapter) => WithExamples(task, adapter, long.MaxValue)),
        ("client_12", (task, adapter) => WithExamples(task, adapter, 1L << 40)),
        ("client_13", (task, adapter) =>
        {
            var header = Header(task, adapter.Count);
            for (var i = 0; i < 100; i++) header.Metrics[$"m{i}"] = i;
            return (header, Frames(adapter), null, "it reports 100 metrics; at most 32 are accepted");
        }),
    ];

    private static (UpdateHeader, IReadOnlyList<TensorFrame>, string?, string) WithExamples(TaskHeader task, NamedTensors adapter, long examples)
    {
        var header = Header(task, adapter.Count);
        header.NumExamples = examples;
        return (header, Frames(adapter), null, $"num_examples is {examples}, above max_client_records 24");
    }

    private static string LoraB(NamedTensors adapter) => adapter.Names.First(n => n.Contains("lora_B", StringComparison.Ordinal));

    private static (UpdateHeader, IReadOnlyList<TensorFrame>, string?, string) Tampered(TaskHeader task, NamedTensors adapter, string name, Action<Tensor> change, string reason)
    {
        using var update = adapter.Clone();
        change(update[name]);
        return (Header(task, update.Count), Frames(update), name, reason);
    }

    private static (UpdateHeader, IReadOnlyList<TensorFrame>, string?, string) Replaced(TaskHeader task, NamedTensors adapter, string name, Func<Tensor, Tensor> replace, string reason)
    {
        using var update = adapter.Clone();
        update.Replace(name, replace(update[name]));
        return (Header(task, update.Count), Frames(update), name, reason);
    }

    private static UpdateHeader Header(TaskHeader task, int tensors, string? taskId = null) =>
        new() { TaskId = taskId ?? task.TaskId, Round = task.Round, NumExamples = 24, Tensors = tensors, Codec = IdentityCodec.Name };

    private static List<TensorFrame> Frames(NamedTensors tensors, int chunkBytes = TensorFrameWriter.ChunkBytes) =>
        [.. TensorFrameWriter.Frames(ProtocolInfo.UpdateSection, tensors, chunkBytes)];

    /// <summary>How often a client process began training <paramref name="round"/>: more than once means a finished update was thrown away.</summary>
    private static int TrainingsOf(RunningProcess client, int round) =>
        Regex.Count(client.Output, $@"Round {round}: training \(rank");

    private static List<string> Ids(JsonNode? array) => [.. array!.AsArray().Select(n => (string)n!)];

    /// <summary>Refused calls behind batched event lines ("… (×N)" stands for N).</summary>
    private static int RefusalCount(IEnumerable<(DateTime Utc, string Kind, string? ClientId, string Message)> events) =>
        events.Sum(e => Regex.Match(e.Message, @"\(×(\d+)\)$") is { Success: true } m ? int.Parse(m.Groups[1].Value) : 1);
}
