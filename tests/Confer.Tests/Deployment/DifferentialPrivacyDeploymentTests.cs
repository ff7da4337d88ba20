using System.Globalization;
using Confer.Federation.Deployment;
using Confer.Privacy.DifferentialPrivacy;

namespace Confer.Tests.Deployment;

/// <summary>
/// <c>confer server</c> with DP-FedAvg prints the privacy budget spent after every round, as <c>confer simulate</c>
/// does: the "Round N committed" log line carries ε at the run's δ, the value the round's record holds, which is the
/// RDP accountant's ε after N rounds at q = 2/2 and z = 0.8.
/// </summary>
public class DifferentialPrivacyDeploymentTests
{
    [Fact]
    public async Task The_server_log_states_epsilon_at_delta_after_every_round()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 2, new Dictionary<string, string>
        {
            ["rounds"] = "2", ["local_steps"] = "1", ["dp_clip_norm"] = "1.0", ["dp_noise_multiplier"] = "0.8", ["dp_delta"] = "1e-5",
        });
        var server = h.StartServer();
        var clients = Enumerable.Range(0, 2).Select(i => h.StartClient(i)).ToList();
        await h.ExpectExitAsync(server, 0, TimeSpan.FromMinutes(4), ct);
        foreach (var c in clients) await h.ExpectExitAsync(c, 0, TimeSpan.FromMinutes(1), ct);

        using var store = ServerStore.Open(h.StateFolder);
        var accountant = new RdpAccountant();
        foreach (var round in store.Rounds().Where(r => r.Round > 0))
        {
            accountant.Step(1.0, 0.8);
            var epsilon = round.Metric(DpController.EpsilonMetric)!.Value;
            Assert.Equal(accountant.Epsilon(1e-5).Epsilon, epsilon, 9);
            var line = server.Output.Split('\n').Single(l => l.Contains($"Round {round.Round} committed", StringComparison.Ordinal));
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $", ε {epsilon:F3} (δ = 1e-05)"), line, StringComparison.Ordinal);
        }
    }
}
