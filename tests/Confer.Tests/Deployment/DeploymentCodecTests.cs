using Confer.Federation.Deployment;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;

namespace Confer.Tests.Deployment;

/// <summary>
/// Lossy codecs in a real deployment: server and three client processes over TLS, top-k with error feedback, int8 and
/// zstd on the uplink (int4 for one client), bf16 and zstd on the downlink. One client is killed with SIGKILL after
/// its first update and started again on its state folder; the run must still end exactly as the in-process
/// simulation of the same config and seed: final adapter, and per round the participants, losses, client evaluations
/// and the raw and encoded traffic bytes.
/// </summary>
public class DeploymentCodecTests
{
    [Fact]
    public async Task ALossyDeploymentWithARestartedClientMatchesTheSimulation()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 3, new Dictionary<string, string>
        {
            ["eval_every"] = "1",
            ["uplink_codec"] = "'topk:0.2 > int8 > zstd'",
            ["downlink_codec"] = "'bf16 > zstd'",
            ["uplink_codec_by_client"] = "['client_2=int4 > zstd']",
            // The server notices the killed client at once and waits for three live clients before round 2; should
            // the restart still miss a round, the round is run again rather than aggregated without it.
            ["min_returned"] = "3",
        });
        var state = Enumerable.Range(0, 3).Select(i => Path.Combine(h.Folder, $"client-state-{i}")).ToList();
        var server = h.StartServer();
        var clients = Enumerable.Range(0, 3).Select(i => h.StartClient(i, null, "--state", state[i])).ToList();

        var victim = clients[0];
        var until = DateTime.UtcNow.AddMinutes(5);
        // Killed once round 1 is committed (not merely its update accepted: on a loaded machine the others may still be
        // training, and a client lost before the commit makes the server re-run round 1), so the restart resumes in round 2.
        while (!victim.Output.Contains("Round 1: round 1: update accepted", StringComparison.Ordinal)
               || !server.Output.Contains("Round 1 committed", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < until && !victim.HasExited, $"round 1 never committed with client_0's update.\n{h.Logs}");
            await Task.Delay(50, ct);
        }
        victim.Kill();
        var residuals = Directory.GetFiles(state[0], "round-*.safetensors", SearchOption.AllDirectories).Select(f => Path.GetFileName(f)).ToList();
        Assert.Contains("round-000001.safetensors", residuals);
        var restarted = h.StartClient(0, null, "--state", state[0]);

        await h.ExpectExitAsync(server, 0, TimeSpan.FromMinutes(5), ct);
        foreach (var c in new[] { restarted, clients[1], clients[2] }) await h.ExpectExitAsync(c, 0, TimeSpan.FromMinutes(1), ct);
        Assert.Contains("Round 2: training", restarted.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Round 1: training", restarted.Output, StringComparison.Ordinal);

        IReadOnlyList<RoundRecord> deployed;
        string storedRun;
        using (var store = ServerStore.Open(h.StateFolder)) (deployed, storedRun) = (store.Rounds(), store.GetMeta(FederationServer.RunConfigKey)!);
        // min_returned is a server key here; the run config in server.db (and so the report) records the value that applied.
        Assert.Equal(3, Confer.Configuration.ConfigBinder.BindText<SimulationSettings>(storedRun, "server.db").MinReturned);
        Assert.Equal([0, 1, 2, 3], deployed.Select(r => r.Round));
        Assert.All(deployed.Skip(1), r => Assert.Equal(["client_0", "client_1", "client_2"], r.Aggregated));

        using var sim = new TempDir();
        var result = SimulationEngine.Run(h.SimulationSettings(sim.Path), Path.Combine(sim.Path, "sim"), resume: false, ct: TestContext.Current.CancellationToken);
        AdapterAssert.Equal(Path.Combine(result.RunFolder, "final", "adapter", "adapter_model.safetensors"), h.FinalAdapter, 1e-6);
        var simulated = new RunFolder(result.RunFolder).Rounds();
        Assert.Equal(simulated.Select(r => r.Round), deployed.Select(r => r.Round));
        foreach (var (s, d) in simulated.Zip(deployed))
        {
            Assert.Equal(s.Aggregated, d.Aggregated);
            Assert.Equal(s.Examples, d.Examples);
            foreach (var (name, value) in s.Metrics.Where(m => m.Key != "train_seconds"))
                Assert.True(Math.Abs(value - d.Metrics[name]) <= 1e-6 * Math.Max(1, Math.Abs(value)), $"round {s.Round} {name}: {value} vs {d.Metrics[name]}");
            Assert.Equal(s.Traffic, d.Traffic);
            foreach (var (se, de) in s.ClientEvaluations.Zip(d.ClientEvaluations)) Assert.True(Math.Abs(se.Loss - de.Loss) <= 1e-6, $"{se.ClientId}: {se.Loss} vs {de.Loss}");
        }
        var last = simulated[^1];
        Assert.True(last.Up.Bytes * 5 < last.Up.RawBytes && last.Down.Bytes < last.Down.RawBytes, $"up {last.Up}, down {last.Down}");
        // The simulated client_0 kept the same residuals as the deployed one.
        foreach (var file in Directory.GetFiles(Path.Combine(result.RunFolder, "clients", "client_0"), "*.safetensors", SearchOption.AllDirectories))
        {
            var deployedFile = Directory.GetFiles(state[0], Path.GetFileName(file), SearchOption.AllDirectories).Single();
            using var expected = Confer.Models.Safetensors.SafetensorsFile.Load(file);
            using var actual = Confer.Models.Safetensors.SafetensorsFile.Load(deployedFile);
            Assert.Equal(expected.Names, actual.Names);
            foreach (var (name, t) in expected) Assert.True(t.equal(actual[name]).all().item<bool>(), $"{Path.GetFileName(file)} {name}");
        }
    }
}
