using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Federation.Simulation;
using Confer.Transport;

namespace Confer.Tests.Deployment;

/// <summary>
/// A server restarted on a state folder continues its run only with the same settings, compared by value: a run
/// config stored by an older version (a key added since, help reworded) still matches, a changed value is refused by
/// name. In process: both checks happen before the server loads its model or listens.
/// </summary>
public class ServerRestartConfigTests
{
    [Fact]
    public async Task ARunConfigFromAnOlderVersionMatchesAndAChangedValueIsRefusedByName()
    {
        using var dir = new TempDir();
        DevCertificates.Create(dir.File("certs"), ["localhost"]);
        var server = new ServerSettings
        {
            State = dir.File("state"), TlsCert = dir.File("certs/server.crt"), TlsKey = dir.File("certs/server.key"), Listen = "127.0.0.1:0",
        };
        // The model folder does not exist, so a run whose settings pass the check stops at the next check with that error.
        var run = new SimulationSettings { Model = dir.File("no-model"), LearningRate = 0.004 };
        using (var store = ServerStore.Open(server.State))
        {
            store.IssueToken("client_0");
            var older = string.Join('\n', ConfigBinder.ToYaml(run).Split('\n').Where(l => !l.StartsWith("min_returned:", StringComparison.Ordinal)))
                .Replace("# client learning rate", "# the clients' learning rate", StringComparison.Ordinal);
            store.SetMeta(FederationServer.RunConfigKey, older);
        }
        var ct = TestContext.Current.CancellationToken;

        var same = await Assert.ThrowsAsync<ConfigException>(() => FederationServer.RunAsync(run, server, ct));
        Assert.Contains("model: folder", same.Message);

        // The round policy is the server's: a restart may change it, and the run config then records the server's value.
        server.MinReturned = 2;
        server.OnShortRound = "fail";
        var policy = await Assert.ThrowsAsync<ConfigException>(() => FederationServer.RunAsync(run, server, ct));
        Assert.Contains("model: folder", policy.Message);
        Assert.Equal((2, "fail"), (run.MinReturned, run.OnShortRound));

        run.LearningRate = 0.01;
        var changed = await Assert.ThrowsAsync<ConfigException>(() => FederationServer.RunAsync(run, server, ct));
        Assert.Contains("holds a run with other settings (differs in: lr)", changed.Message);
    }
}
