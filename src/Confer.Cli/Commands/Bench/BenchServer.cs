using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confer.Federation.Deployment;
using Confer.Transport;

namespace Confer.Cli.Commands.Bench;

/// <summary>
/// A real <c>confer server</c> in a child process — the same binary, so its memory and CPU are its own and can be read
/// from <c>/proc/&lt;pid&gt;</c> — on 127.0.0.1 with a dev CA, <paramref name="clients"/> enrolled clients, and a
/// run that never starts a round (it waits for one client more than are enrolled). Killed on dispose.
/// </summary>
internal sealed class BenchServer : IDisposable
{
    private const int OutputLinesKept = 40;
    private readonly TempFolder _folder;
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private BenchServer(TempFolder folder, Process process, IReadOnlyList<(string Id, string Token)> clients)
    {
        _folder = folder;
        _process = process;
        Clients = clients;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public IReadOnlyList<(string Id, string Token)> Clients { get; }

    public int Pid => _process.Id;

    public Uri Url { get; private set; } = null!;

    public string CaPath => _folder.File(Path.Combine("certs", DevCertificates.CaCertificateFile));

    /// <summary>Enrols the clients, writes the run YAML and starts the server; returns once it has written its endpoint.</summary>
    public static BenchServer Start(int clients, string modelFolder, TimeSpan startTimeout)
    {
        var folder = new TempFolder();
        try
        {
            var certs = Directory.CreateDirectory(folder.File("certs")).FullName;
            DevCertificates.Create(certs, ["127.0.0.1"]);
            var state = folder.File("state");
            var tokens = new List<(string, string)>(clients);
            using (var store = ServerStore.Open(state))
            {
                for (var i = 0; i < clients; i++)
                {
                    var id = $"bench-{i:D5}";
                    tokens.Add((id, store.IssueToken(id)));
                }
                // One more site is enrolled but never connects, so round 1 never starts and every client stays idle.
                store.IssueToken("bench-absent");
            }
            var config = folder.File("run.yaml");
            File.WriteAllText(config, $"""
                name: bench-clients
                model: {Quote(modelFolder)}
                rounds: 1
                baselines: []
                listen: 127.0.0.1:0
                state: {Quote(state)}
                tls_cert: {Quote(Path.Combine(certs, DevCertificates.ServerCertificateFile))}
                tls_key: {Quote(Path.Combine(certs, DevCertificates.ServerKeyFile))}
                min_available_clients: {clients + 1}
                wait_timeout_s: 86400
                eval_every: 0
                linger_s: 0
                """);
            var server = new BenchServer(folder, Process.Start(StartInfo(config))!, tokens);
            server.WaitForEndpoint(state, startTimeout);
            return server;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>The server's <c>/status</c> JSON over HTTPS, trusting only the bench's CA.</summary>
    public async Task<JsonObject> StatusAsync(CancellationToken ct)
    {
        using var http = new HttpClient(ConferChannel.TrustingHandler(CaPath));
        return await http.GetFromJsonAsync<JsonObject>(new Uri(Url, "/status"), ct).ConfigureAwait(false)
               ?? throw new InvalidDataException("the server's /status was empty.");
    }

    /// <summary>User plus system CPU time of the server so far (Linux), in seconds.</summary>
    public double CpuSeconds
    {
        get
        {
            var stat = File.ReadAllText($"/proc/{Pid}/stat");
            // Fields after the parenthesised command name: state is field 3, utime 14, stime 15 (clock ticks, 100 per second).
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture)) / 100.0;
        }
    }

    /// <summary>Open file descriptors of the server (sockets included).</summary>
    public int OpenFiles => Directory.Exists($"/proc/{Pid}/fd") ? Directory.GetFiles($"/proc/{Pid}/fd").Length : 0;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the server printed, for error messages.</summary>
    public string Output
    {
        get
        {
            lock (_output) return string.Join("\n", _output);
        }
    }

    private static ProcessStartInfo StartInfo(string config)
    {
        // The same CLI as this process: its apphost when that is what runs, else `dotnet Confer.Cli.dll` (./confer, tests).
        var self = Environment.ProcessPath;
        var cli = typeof(BenchServer).Assembly.Location;
        var apphost = self is not null && Path.GetFileNameWithoutExtension(self) == Path.GetFileNameWithoutExtension(cli);
        var info = new ProcessStartInfo(apphost ? self! : DotnetHost(self)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (!apphost) info.ArgumentList.Add(cli);
        foreach (var a in new[] { "server", "--config", config }) info.ArgumentList.Add(a);
        info.Environment["NO_COLOR"] = "1";
        return info;
    }

    /// <summary>The <c>dotnet</c> host: this process when it is one, else the SDK's (DOTNET_HOST_PATH), else the one on PATH.</summary>
    private static string DotnetHost(string? self) =>
        self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    private void WaitForEndpoint(string state, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        Uri? url;
        while ((url = ServerEndpoint.TryRead(state)) is null)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the server exited with code {_process.ExitCode}:\n{Output}");
            if (clock.Elapsed > timeout) throw new TimeoutException($"the server did not start within {timeout.TotalSeconds:0} s:\n{Output}");
            Thread.Sleep(100);
        }
        Url = url;
    }

    private static string Quote(string path) => "'" + Path.GetFullPath(path).Replace("'", "''", StringComparison.Ordinal) + "'";

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > OutputLinesKept) _output.Dequeue();
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already reaped.
        }
        _process.Dispose();
        _folder.Dispose();
    }
}
