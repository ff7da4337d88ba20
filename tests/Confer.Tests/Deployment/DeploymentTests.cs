using Confer.Federation.Deployment;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Confer.Models;

namespace Confer.Tests.Deployment;

/// <summary>
/// The deployment end to end: one server and three client processes talking gRPC over TLS on 127.0.0.1 run the same
/// round driver as <c>confer simulate</c>, so they must end with the same global adapter and the same record — per
/// round the same participants, examples, losses, client evaluations and traffic bytes — as an in-process simulation
/// of the same config and seed; and <c>confer report</c> reads the server's state folder as it reads a run folder.
/// </summary>
public class DeploymentTests
{
    [Fact]
    public async Task ThreeClientProcessesOverTlsMatchAnInProcessSimulation()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 3, new Dictionary<string, string> { ["eval_every"] = "1" });
        var server = h.StartServer();
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await h.StatusCodeAsync(null, ct));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await h.StatusCodeAsync("wrong", ct));
        Assert.Equal(3, (int)(await h.StatusAsync(ct))["clients"]!["enrolled"]!);
        var clients = Enumerable.Range(0, 3).Select(i => h.StartClient(i)).ToList();
        await h.ExpectExitAsync(server, 0, TimeSpan.FromMinutes(4), ct);
        foreach (var c in clients) await h.ExpectExitAsync(c, 0, TimeSpan.FromMinutes(1), ct);

        IReadOnlyList<RoundRecord> deployed;
        using (var store = ServerStore.Open(h.StateFolder)) deployed = store.Rounds();
        Assert.Equal([0, 1, 2, 3], deployed.Select(r => r.Round));
        Assert.All(deployed.Skip(1), r => Assert.Equal(["client_0", "client_1", "client_2"], r.Aggregated));
        // The gate timed each client's part of every round on the server's clock, with the bytes the ledger counted
        // (what the deadline scheduler learns from); a simulation without client_devices times nothing.
        foreach (var r in deployed.Skip(1))
        {
            Assert.Equal(r.Aggregated, r.Timings.Select(t => t.ClientId));
            foreach (var t in r.Timings)
            {
                Assert.Equal(r.Traffic.Single(c => c.ClientId == t.ClientId).Up.Bytes, t.BytesUp);
                Assert.True(t.Tokens > 0 && t.BytesDown > 0 && t.ComputeSeconds > 0 && t.Seconds < 240, $"round {r.Round}: {t}");
            }
        }

        using var sim = new TempDir();
        var result = SimulationEngine.Run(h.SimulationSettings(sim.Path), Path.Combine(sim.Path, "sim"), resume: false, ct: TestContext.Current.CancellationToken);
        AdapterAssert.Equal(Path.Combine(result.RunFolder, "final", "adapter", "adapter_model.safetensors"), h.FinalAdapter, 1e-6);
        var simulated = new RunFolder(result.RunFolder).Rounds();
        Assert.Equal(simulated.Select(r => r.Round), deployed.Select(r => r.Round));
        foreach (var (s, d) in simulated.Zip(deployed))
        {
            Assert.Equal(s.Selected, d.Selected);
            Assert.Equal(s.Aggregated, d.Aggregated);
            Assert.Equal(s.Examples, d.Examples);
            // Timing metrics (train_seconds) differ by nature; every other metric is the same computation.
            Assert.Equal(s.Metrics.Keys.Order(StringComparer.Ordinal), d.Metrics.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, value) in s.Metrics.Where(m => m.Key != "train_seconds"))
                Assert.True(Math.Abs(value - d.Metrics[name]) <= 1e-6 * Math.Max(1, Math.Abs(value)), $"round {s.Round} {name}: {value} vs {d.Metrics[name]}");
            Assert.Equal(s.Traffic, d.Traffic);
            Assert.Equal(s.ClientEvaluations.Select(e => (e.ClientId, e.Examples)), d.ClientEvaluations.Select(e => (e.ClientId, e.Examples)));
            foreach (var (se, de) in s.ClientEvaluations.Zip(d.ClientEvaluations)) Assert.True(Math.Abs(se.Loss - de.Loss) <= 1e-6, $"{se.ClientId}: {se.Loss} vs {de.Loss}");
        }
        Assert.True(simulated[^1].Up.Bytes > 0 && simulated[^1].Down.Bytes > 0);
        Assert.Equal(3, simulated[^1].ClientEvaluations.Count);

        // The server wrote its report when the run finished; `confer report` on the state folder writes it again.
        var report = Path.Combine(h.StateFolder, "report.html");
        Assert.True(File.Exists(report), h.Logs);
        File.Delete(report);
        var cli = h.Run("report", h.StateFolder);
        await h.ExpectExitAsync(cli, 0, TimeSpan.FromMinutes(1), ct);
        var html = File.ReadAllText(report);
        Assert.Contains("deploy", html, StringComparison.Ordinal);
        Assert.Contains("client_2", html, StringComparison.Ordinal);
    }
}

internal static class AdapterAssert
{
    /// <summary>Same tensor names and shapes, and no element further apart than <paramref name="tolerance"/>.</summary>
    public static void Equal(string expectedPath, string actualPath, double tolerance)
    {
        using var expected = Confer.Models.Safetensors.SafetensorsFile.Load(expectedPath);
        using var actual = Confer.Models.Safetensors.SafetensorsFile.Load(actualPath);
        Assert.Equal(expected.Names.Order(StringComparer.Ordinal), actual.Names.Order(StringComparer.Ordinal));
        Assert.True(expected.Count > 0);
        foreach (var (name, t) in expected)
        {
            Assert.Equal(t.shape, actual[name].shape);
            var diff = (t - actual[name]).abs().max().item<float>();
            Assert.True(diff <= tolerance, $"{name}: max |Δ| = {diff}");
        }
        var moved = expected.Where(kv => kv.Key.Contains("lora_B")).Sum(kv => kv.Value.abs().sum().item<float>());
        Assert.True(moved > 0, "training moved lora_B away from its zero init");
    }
}
