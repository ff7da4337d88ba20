using System.Diagnostics;
using System.Text.Json.Nodes;
using Confer.Federation.Deployment;

namespace Confer.Cli.Commands.Bench;

/// <summary>Round-trip times of probe calls, in milliseconds.</summary>
internal sealed record LatencySample(IReadOnlyList<double> Milliseconds)
{
    public double Percentile(double p)
    {
        var sorted = Milliseconds.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}

/// <summary>What <see cref="ClientLoadBench"/> measures, and how long it waits for the steady state.</summary>
internal sealed record ClientLoadOptions(int Clients, string Model)
{
    /// <summary>Wait after the last join before the steady-state readings: one full long-poll cycle, so every client has re-polled.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(IdleClient.PollWaitSeconds + 5);

    /// <summary>Window over which the server's idle CPU use is measured.</summary>
    public TimeSpan IdleWindow { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Timed wait-0 polls per latency sample.</summary>
    public int Probes { get; init; } = 500;
}

internal sealed record ClientLoadResult(
    int Requested, int Joined, int Connected, double StartSeconds, double ConnectSeconds, long ServerRssOneClient, long ServerRssJoined, long ServerRssLoaded,
    long ServerPeakRss, long BenchRssPerClient, int ServerOpenFiles, double ServerIdleCores, LatencySample OneClient, LatencySample Loaded,
    string? FirstFailure)
{
    /// <summary>Server RSS growth per client beyond the first.</summary>
    public long ServerRssPerClient => Joined > 1 ? (ServerRssLoaded - ServerRssOneClient) / (Joined - 1) : 0;
}

/// <summary>
/// How many idle clients one real server holds: a <see cref="BenchServer"/> child process, then one client (the
/// baseline: memory and probe latency), then the rest, each on its own TLS connection, joined and long-polling. The
/// server's memory and open files are read from <c>/proc</c>, its own count of connected clients from <c>/status</c>,
/// and the latency of a wait-0 poll is probed sequentially from random clients.
/// </summary>
internal static class ClientLoadBench
{
    public const int ConnectConcurrency = 32;
    private const int WarmupProbes = 200;
    public static async Task<ClientLoadResult> RunAsync(ClientLoadOptions options, Action<string> progress, CancellationToken ct)
    {
        var count = options.Clients;
        var fingerprint = ModelFingerprint.Of(options.Model);
        var start = Stopwatch.StartNew();
        using var server = BenchServer.Start(count, options.Model, TimeSpan.FromSeconds(120));
        var startSeconds = start.Elapsed.TotalSeconds;
        progress($"server pid {server.Pid} at {server.Url} ({count} clients enrolled; enrolment and start took {startSeconds:F1} s)");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var clients = new IdleClient?[count];
        var loops = new List<Task>(count);
        string? firstFailure = null;
        try
        {
            async Task<bool> Connect(int i)
            {
                var (_, token) = server.Clients[i];
                var client = new IdleClient(server.Url, server.CaPath, token);
                try
                {
                    await client.JoinAsync(fingerprint, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    client.Dispose();
                    Interlocked.CompareExchange(ref firstFailure, $"{server.Clients[i].Id}: join failed: {e.Message}", null);
                    return false;
                }
                clients[i] = client;
                lock (loops) loops.Add(Task.Run(() => client.PollLoopAsync(stop.Token), CancellationToken.None));
                return true;
            }

            if (!await Connect(0).ConfigureAwait(false)) throw new InvalidOperationException($"the first client could not join: {firstFailure}\n{server.Output}");
            await WaitForConnectedAsync(server, 1, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            var oneClient = await ProbeAsync([clients[0]!], options.Probes, ct).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            var rssOne = ProcessMemory.RssOf(server.Pid);
            var benchRssOne = ProcessMemory.Rss;

            var connect = Stopwatch.StartNew();
            using var gate = new SemaphoreSlim(ConnectConcurrency);
            var joins = Enumerable.Range(1, count - 1).Select(async i =>
            {
                await gate.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    return await Connect(i).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }).ToList();
            var joined = 1 + (await Task.WhenAll(joins).ConfigureAwait(false)).Count(ok => ok);
            var connected = await WaitForConnectedAsync(server, joined, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
            var connectSeconds = connect.Elapsed.TotalSeconds;
            progress($"{joined} of {count} clients joined and polling after {connectSeconds:F1} s; the server counts {connected} connected");

            var rssJoined = ProcessMemory.RssOf(server.Pid);
            // One full long-poll cycle later every client has re-polled and the joins' transients are gone: the steady state.
            await Task.Delay(options.Settle, ct).ConfigureAwait(false);
            var rssLoaded = ProcessMemory.RssOf(server.Pid);
            var benchRssPerClient = joined > 1 ? (ProcessMemory.Rss - benchRssOne) / (joined - 1) : 0;
            var openFiles = server.OpenFiles;
            var cpu = server.CpuSeconds;
            var idle = Stopwatch.StartNew();
            await Task.Delay(options.IdleWindow, ct).ConfigureAwait(false);
            var idleCores = (server.CpuSeconds - cpu) / idle.Elapsed.TotalSeconds;
            var loaded = await ProbeAsync([.. clients.OfType<IdleClient>()], options.Probes, ct).ConfigureAwait(false);
            connected = ConnectedCount(await server.StatusAsync(ct).ConfigureAwait(false));
            var peak = ProcessMemory.PeakRssOf(server.Pid);
            if (server.HasExited) throw new InvalidOperationException($"the server exited during the bench:\n{server.Output}");
            firstFailure ??= clients.FirstOrDefault(c => c?.Failure is not null)?.Failure?.Message;
            return new ClientLoadResult(count, joined, connected, startSeconds, connectSeconds, rssOne, rssJoined, rssLoaded, peak, benchRssPerClient, openFiles,
                idleCores, oneClient, loaded, firstFailure);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(loops).ConfigureAwait(false);
            foreach (var c in clients) c?.Dispose();
        }
    }

    /// <summary>Sequential wait-0 polls, each from a client drawn at random (seeded).</summary>
    private static async Task<LatencySample> ProbeAsync(IReadOnlyList<IdleClient> clients, int probes, CancellationToken ct)
    {
        var random = new Random(7);
        // Untimed probes first: right after the server starts, its code is still at a lower JIT tier.
        for (var i = 0; i < WarmupProbes; i++) await clients[random.Next(clients.Count)].ProbeAsync(ct).ConfigureAwait(false);
        var times = new List<double>(probes);
        for (var i = 0; i < probes; i++)
        {
            var client = clients[random.Next(clients.Count)];
            var start = Stopwatch.GetTimestamp();
            await client.ProbeAsync(ct).ConfigureAwait(false);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return new LatencySample(times);
    }

    private static async Task<int> WaitForConnectedAsync(BenchServer server, int expected, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (server.HasExited) throw new InvalidOperationException($"the server exited:\n{server.Output}");
            var connected = ConnectedCount(await server.StatusAsync(ct).ConfigureAwait(false));
            if (connected >= expected || clock.Elapsed > timeout) return connected;
            await Task.Delay(250, ct).ConfigureAwait(false);
        }
    }

    private static int ConnectedCount(JsonObject status) => status["clients"]?["connected"]?.AsArray().Count ?? 0;
}
