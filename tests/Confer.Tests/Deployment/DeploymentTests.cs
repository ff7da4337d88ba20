using Confer.Federation.Deployment;
using Confer.Federation.Simulation;
using Confer.Models;

namespace Confer.Tests.Deployment;

/// <summary>
/// The deployment end to end: one server and three client processes talking gRPC over TLS on 127.0.0.1 must end
/// with the same global adapter as <c>confer simulate</c> run in-process on the same config and seed.
/// </summary>
public class DeploymentTests
{
    [Fact]
    public async Task ThreeClientProcessesOverTlsMatchAnInProcessSimulation()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 3);
        var server = h.StartServer();
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await h.StatusCodeAsync(null, ct));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await h.StatusCodeAsync("wrong", ct));
        Assert.Equal(3, (int)(await h.StatusAsync(ct))["clients"]!["enrolled"]!);
        var clients = Enumerable.Range(0, 3).Select(i => h.StartClient(i)).ToList();
        await h.ExpectExitAsync(server, 0, TimeSpan.FromMinutes(4), ct);
        foreach (var c in clients) await h.ExpectExitAsync(c, 0, TimeSpan.FromMinutes(1), ct);

        using (var store = ServerStore.Open(h.StateFolder))
        {
            var rounds = store.Rounds();
            Assert.Equal([1, 2, 3], rounds.Select(r => r.Round));
            Assert.All(rounds, r => Assert.Equal(["client_0", "client_1", "client_2"], r.Returned));
        }

        using var sim = new TempDir();
        var result = SimulationEngine.Run(h.SimulationSettings(sim.Path), Path.Combine(sim.Path, "sim"), resume: false);
        AdapterAssert.Equal(Path.Combine(result.RunFolder, "final", "adapter", "adapter_model.safetensors"), h.FinalAdapter, 1e-6);
    }
}

internal static class AdapterAssert
{
    /// <summary>Same tensor names and shapes, and no element further apart than <paramref name="tolerance"/>.</summary>
    public static void Equal(string expectedPath, string actualPath, double tolerance)
    {
        using var expected = Confer.Models.Safetensors.Load(expectedPath);
        using var actual = Confer.Models.Safetensors.Load(actualPath);
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
