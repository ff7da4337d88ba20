using System.Text.Json.Nodes;
using Confer.Federation.Deployment;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Privacy.SecureAggregation;
using Confer.Models.Safetensors;

namespace Confer.Tests.Deployment;

/// <summary>
/// Secure aggregation end to end: a real server and three real client processes over gRPC + TLS run a secure round
/// (advertise keys, share keys, masked input, unmask). One client is killed right after its masked input reached the
/// server; the other two reveal the shares of its self-mask, so its update still counts, and the round's result
/// equals plain FedAvg of all three — computed by an in-process simulation of the same config without secure
/// aggregation — within the fixed-point quantisation bound.
/// </summary>
public class SecureAggregationDeploymentTests
{
    [Fact]
    public async Task A_secure_round_with_a_client_killed_after_its_masked_input_equals_plain_fedavg()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 3, new Dictionary<string, string>
        {
            ["rounds"] = "1", ["secure_aggregation"] = "true", ["local_steps"] = "8", ["heartbeat_s"] = "30",
        });
        var server = h.StartServer();
        var clients = Enumerable.Range(0, 3).Select(i => h.StartClient(i)).ToList();

        // heartbeat_s 30: a frozen client must not be dropped as silent (3 heartbeats) while client_2 trains alone; the
        // killed client is noticed by its closed connection, not by silence.
        // Freeze everyone the moment the masked-input exchange opens (they are still training), let client_2 alone
        // finish and upload, kill it, then let the others go on: the unmasking exchange cannot open before they reply.
        await h.WaitForStatusAsync(s => (string?)s["exchange"] == "train:masked", TimeSpan.FromMinutes(3), server, ct);
        foreach (var c in clients) c.Stop();
        var frozen = await h.StatusAsync(ct);
        Assert.True(Returned(frozen).Count < 3, $"every client had already returned before the freeze: {frozen.ToJsonString()}");
        clients[2].Continue();
        await h.WaitForStatusAsync(s => Returned(s).Contains("client_2"), TimeSpan.FromMinutes(2), server, ct);
        clients[2].Kill();
        clients[0].Continue();
        clients[1].Continue();

        await h.ExpectExitAsync(server, 0, TimeSpan.FromMinutes(4), ct);
        foreach (var c in clients.Take(2)) await h.ExpectExitAsync(c, 0, TimeSpan.FromMinutes(1), ct);

        using var store = ServerStore.Open(h.StateFolder);
        var round = store.Rounds().Single(r => r.Round == 1);
        Assert.Equal(["client_0", "client_1", "client_2"], round.Aggregated);
        Assert.Contains(store.Events(), e => e.Message.Contains("client_2 sent its masked input but no unmasking shares", StringComparison.Ordinal));

        // The same config, simulated without secure aggregation: plain FedAvg over the same three clients.
        using var sim = new TempDir();
        var settings = h.SimulationSettings(sim.Path);
        settings.SecureAggregation = false;
        var plain = SimulationEngine.Run(settings, Path.Combine(sim.Path, "plain"), resume: false, ct: ct);
        using var expected = SafetensorsFile.Load(Path.Combine(plain.RunFolder, "final", "adapter", "adapter_model.safetensors"));
        using var actual = SafetensorsFile.Load(h.FinalAdapter);
        Assert.Equal(expected.Names.Order(StringComparer.Ordinal), actual.Names.Order(StringComparer.Ordinal));
        // Each client's n_k/cap·Δ_k is off by at most c/T: the mean by 3·(c/T)·cap/Σn. Deployed and simulated training
        // agree to 1e-6 (DeploymentTests), which bounds the rest.
        var bound = 3 * FixedPoint.ForContributors(settings.SecAggClipRange, 3).Resolution * settings.MaxClientRecords / round.Examples;
        foreach (var (name, t) in expected)
        {
            var diff = (t - actual[name]).abs().max().item<float>();
            Assert.True(diff <= bound + 1e-6, $"{name}: |plain − secure| = {diff} > {bound} + 1e-6");
        }
        Assert.True(expected.Where(kv => kv.Key.Contains("lora_B", StringComparison.Ordinal)).Sum(kv => kv.Value.abs().sum().item<float>()) > 0);
    }

    private static List<string> Returned(JsonObject status) =>
        [.. status["clients"]!["returned"]!.AsArray().Select(n => (string)n!)];
}
