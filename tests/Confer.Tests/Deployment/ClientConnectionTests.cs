namespace Confer.Tests.Deployment;

/// <summary>
/// A client that cannot reach its server says why in words an operator can act on: a host name that does not resolve
/// is an error at once (a typo, not an outage), a refused connection is retried with that reason, and a certificate
/// issued for another name is reported as a name mismatch, not as an untrusted CA.
/// </summary>
public class ClientConnectionTests
{
    [Fact]
    public async Task AnUnresolvableHostIsAnErrorAndARefusedConnectionIsRetriedWithItsReason()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 1);
        var typo = h.Run(["client", "--server", "https://no-such-host.invalid:50051", "--token", h.Token(0), "--ca", h.CaPath,
            "--data", h.ClientData(0), "--model", DeploymentHarness.ModelFolder]);
        await h.ExpectExitAsync(typo, 2, TimeSpan.FromMinutes(1), ct);
        Assert.Contains("error: server: the host 'no-such-host.invalid' of https://no-such-host.invalid:50051 cannot be resolved; check the URL.", typo.Output, StringComparison.Ordinal);

        var port = DeploymentHarness.FreePort();
        var nobody = h.Run(["client", "--server", $"https://127.0.0.1:{port}", "--token", h.Token(0), "--ca", h.CaPath,
            "--data", h.ClientData(0), "--model", DeploymentHarness.ModelFolder, "--set", "give_up_after_s=2", "--set", "max_backoff_s=1"]);
        await h.ExpectExitAsync(nobody, 1, TimeSpan.FromMinutes(1), ct);
        Assert.Contains($"connection refused at https://127.0.0.1:{port}: is the server running, and is the port right?", nobody.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACertificateForAnotherNameIsReportedAsANameMismatch()
    {
        var ct = TestContext.Current.CancellationToken;
        // The certificate names localhost only; the client dials 127.0.0.1.
        using var h = new DeploymentHarness(clients: 1, certificateHosts: ["localhost"]);
        var server = h.StartServer();
        var client = h.StartClient(0);
        await h.ExpectExitAsync(client, 2, TimeSpan.FromMinutes(1), ct);
        Assert.Contains("the server's certificate is not issued for '127.0.0.1' (name mismatch)", client.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("not trusted", client.Output, StringComparison.Ordinal);
        server.Kill();
    }
}
