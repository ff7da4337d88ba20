using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Confer.Federation.Deployment;

namespace Confer.Tests.Deployment;

/// <summary>
/// A server that cannot start says why in one line and exit code 2, and writes nothing it would later trip over: a
/// mistyped model path leaves the state folder as it was, so the corrected command starts the same run.
/// </summary>
public class ServerStartupTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task AFailedFirstStartWritesNothingAndTheCorrectedCommandStarts()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 1, new Dictionary<string, string> { ["model"] = "/nonexistent/confer-model" });
        var failed = h.Run("server", "--config", h.ConfigPath);
        await h.ExpectExitAsync(failed, 2, ExitTimeout, ct);
        AssertOneLineError(failed, "model: folder '/nonexistent/confer-model' does not exist");
        using (var store = ServerStore.Open(h.StateFolder)) Assert.Null(store.GetMeta(FederationServer.RunConfigKey));

        // What a kill -9 in the middle of an atomic write leaves behind; the next start removes it.
        var leftover = Path.Combine(h.StateFolder, "final", "adapter", "adapter_model.safetensors.tmp-4242-0123456789abcdef");
        Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
        File.WriteAllText(leftover, "half a tensor");

        h.SetKey("model", DeploymentHarness.ModelFolder);
        var server = h.StartServer();
        Assert.Equal(1, (int)(await h.StatusAsync(ct))["clients"]!["enrolled"]!);
        Assert.False(File.Exists(leftover), "the restart removed the torn temporary file");
        using (var store = ServerStore.Open(h.StateFolder)) Assert.NotNull(store.GetMeta(FederationServer.RunConfigKey));
        server.Kill();
    }

    [Fact]
    public async Task UnreadableKeyTooFewClientsAndABusyPortAreOneLineErrors()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 1);

        // Root reads any file whatever its mode, so "unreadable" is a key path that is a folder: the same exception.
        var folderKey = Directory.CreateDirectory(Path.Combine(h.Folder, "key-is-a-folder")).FullName;
        await ExpectStartError(h, ct, "cannot be read", "--set", $"tls_key={folderKey}");
        await ExpectStartError(h, ct, "min_available_clients: 4 is more than the 1 enrolled clients", "--set", "min_available_clients=4");

        var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        try
        {
            var port = ((IPEndPoint)busy.LocalEndpoint).Port;
            await ExpectStartError(h, ct, $"listen: cannot listen on 127.0.0.1:{port}", "--set", $"listen=127.0.0.1:{port}");
        }
        finally
        {
            busy.Stop();
        }
    }

    [Fact]
    public async Task AReadOnlyStateFolderIsAOneLineErrorAtStart()
    {
        var ct = TestContext.Current.CancellationToken;
        using var h = new DeploymentHarness(clients: 1);
        var db = Path.Combine(h.StateFolder, ServerStore.FileName);
        // File modes do not stop root; the immutable attribute does, on file systems that have it.
        if (!Chattr("+i", db)) Assert.Skip("chattr +i is not available here, so no file is read-only to this user");
        try
        {
            await ExpectStartError(h, ct, "cannot be opened for writing");
        }
        finally
        {
            Chattr("-i", db);
        }
    }

    private static async Task ExpectStartError(DeploymentHarness h, CancellationToken ct, string message, params string[] extra)
    {
        var server = h.Run(["server", "--config", h.ConfigPath, .. extra]);
        await h.ExpectExitAsync(server, 2, ExitTimeout, ct);
        AssertOneLineError(server, message);
    }

    /// <summary>The process said what is wrong in one line that starts with <c>error:</c>, and printed no stack trace.</summary>
    private static void AssertOneLineError(RunningProcess process, string message)
    {
        var lines = process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        var error = Assert.Single(lines, l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal));
    }

    private static bool Chattr(string flag, string path)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("chattr", [flag, path]) { RedirectStandardError = true })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
