using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Confer.Federation.Deployment;
using Confer.Federation.Simulation;
using Confer.Tests.Data;
using Confer.Transport;

namespace Confer.Tests.Deployment;

/// <summary>
/// A real deployment on 127.0.0.1 for tests: a dev CA and server certificate, one token per client, a run YAML, and
/// the <c>confer</c> CLI started as separate server and client processes (the same binary a user runs). Killing a
/// process is SIGKILL, i.e. <c>kill -9</c>.
/// </summary>
internal sealed class DeploymentHarness : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly List<RunningProcess> _processes = [];
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);

    /// <param name="clients">clients enrolled (client_0 …), each with a token and its own Dolly shard.</param>
    /// <param name="overrides">run keys to replace or add, e.g. <c>["rounds"] = "2"</c>; a YAML file may not name a key twice.</param>
    /// <param name="certificateHosts">names the server certificate is issued for (default: localhost and 127.0.0.1).</param>
    public DeploymentHarness(int clients, IReadOnlyDictionary<string, string>? overrides = null, string[]? certificateHosts = null)
    {
        ClientCount = clients;
        var data = Directory.CreateDirectory(_dir.File("data")).FullName;
        // Ten Dolly shards exist; clients beyond them reuse one (raw protocol clients in fault tests need no data).
        for (var i = 0; i < clients; i++)
            File.Copy(DataPaths.DollyShard($"local_training_{i % 10}.json"), Path.Combine(data, $"local_training_{i}.json"));
        var test = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(DataPaths.DollyShard("global_test.json")))!.AsArray();
        File.WriteAllText(Path.Combine(data, "test.json"), new JsonArray([.. test.Take(16).Select(r => r!.DeepClone())]).ToJsonString());
        DevCertificates.Create(_dir.File("certs"), certificateHosts ?? ["localhost", "127.0.0.1"]);
        using (var store = ServerStore.Open(StateFolder))
            for (var i = 0; i < clients; i++) _tokens[ClientId(i)] = store.IssueToken(ClientId(i));
        var keys = new List<KeyValuePair<string, string>>
        {
            new("name", "deploy"),
            new("model", ModelFolder),
            new("template", Path.Combine(DataPaths.RepoRoot, "templates", "alpaca.json")),
            new("data", data),
            new("test_data", Path.Combine(data, "test.json")),
            new("seed", "7"),
            new("rounds", "3"),
            new("scheduler", "all"),
            new("local_steps", "2"),
            new("micro_batch_size", "4"),
            new("max_client_records", "24"),
            new("cutoff_len", "160"),
            new("lr", "0.004"),
            new("baselines", "[]"),
            new("listen", "127.0.0.1:0"),
            new("state", StateFolder),
            new("tls_cert", _dir.File("certs/server.crt")),
            new("tls_key", _dir.File("certs/server.key")),
            new("min_available_clients", $"{clients}"),
            new("heartbeat_s", "2"),
            new("wait_timeout_s", "60"),
            new("round_deadline_s", "120"),
            new("eval_every", "0"),
            new("status_token", StatusToken),
            new("linger_s", "2"),
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
        {
            var at = keys.FindIndex(k => k.Key == key);
            if (at >= 0) keys[at] = new(key, value);
            else keys.Add(new(key, value));
        }
        File.WriteAllLines(ConfigPath, keys.Select(k => $"{k.Key}: {k.Value}"));
    }

    /// <summary>A TCP port free right now on 127.0.0.1, for a server that must come back on the same address after a restart.</summary>
    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    public static string ModelFolder => Path.Combine(DataPaths.RepoRoot, "models", "confer-base");

    public int ClientCount { get; }

    public string Folder => _dir.Path;

    public string StateFolder => _dir.File("state");

    public string ConfigPath => _dir.File("run.yaml");

    public string CaPath => _dir.File("certs/ca.crt");

    public static string ClientId(int i) => FederatedData.ClientId(i);

    public string Token(int i) => _tokens[ClientId(i)];

    public string ClientData(int i) => Path.Combine(_dir.Path, "data", $"local_training_{i}.json");

    public string FinalAdapter => Path.Combine(StateFolder, "final", "adapter", "adapter_model.safetensors");

    /// <summary>The experiment keys alone, as <c>confer simulate</c> would read them from the same file.</summary>
    public SimulationSettings SimulationSettings(string output)
    {
        var (run, _) = Confer.Configuration.ConfigBinder.Bind<SimulationSettings, ServerSettings>(ConfigPath, [$"output={output}"]);
        return run;
    }

    public RunningProcess StartServer()
    {
        File.Delete(ServerEndpoint.PathIn(StateFolder));
        var server = Start("server", "server", "--config", ConfigPath);
        Url = WaitForUrl(StateFolder, server);
        return server;
    }

    /// <summary>The URL a just-started server writes to its state folder's endpoint.json, once it listens.</summary>
    public static string WaitForUrl(string stateFolder, RunningProcess server)
    {
        var until = DateTime.UtcNow.AddSeconds(90);
        Uri? url;
        while ((url = ServerEndpoint.TryRead(stateFolder)) is null)
        {
            if (server.HasExited) throw new InvalidOperationException($"the server exited with {server.ExitCode}:\n{server.Output}");
            if (DateTime.UtcNow > until) throw new TimeoutException($"the server did not start within 90 s:\n{server.Output}");
            Thread.Sleep(100);
        }
        return url.ToString().TrimEnd('/');
    }

    public string Url { get; private set; } = "";

    public RunningProcess StartClient(int i, string? token = null, params string[] extra) =>
        Start(ClientId(i), ["client", "--server", Url, "--token", token ?? Token(i), "--ca", CaPath, "--data", ClientData(i),
            "--model", ModelFolder, "--set", "threads=1", "--set", "max_backoff_s=2", .. extra]);

    /// <summary>The operator's token for <c>/status</c>.</summary>
    public const string StatusToken = "status-secret";

    /// <summary>The server's <c>/status</c> JSON, fetched over TLS trusting only the test CA, with the status token.</summary>
    public async Task<JsonObject> StatusAsync(CancellationToken ct)
    {
        using var http = new HttpClient(TrustingHandler());
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", StatusToken);
        return (await http.GetFromJsonAsync<JsonObject>(Url + "/status", ct))!;
    }

    /// <summary>The HTTP status of <c>/status</c> fetched with <paramref name="bearer"/> (or none).</summary>
    public async Task<System.Net.HttpStatusCode> StatusCodeAsync(string? bearer, CancellationToken ct)
    {
        using var http = new HttpClient(TrustingHandler());
        if (bearer is not null) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        using var response = await http.GetAsync(Url + "/status", ct);
        return response.StatusCode;
    }

    /// <summary>Polls <c>/status</c> until <paramref name="condition"/> holds.</summary>
    public async Task<JsonObject> WaitForStatusAsync(Func<JsonObject, bool> condition, TimeSpan timeout, RunningProcess server, CancellationToken ct)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (server.HasExited) throw new InvalidOperationException($"the server exited with {server.ExitCode}:\n{Logs}");
            JsonObject status;
            try
            {
                status = await StatusAsync(ct);
            }
            catch (HttpRequestException e)
            {
                // A refused connection means the server stopped listening: say how it ended (a shutting-down server
                // may take a while to exit on a loaded machine) and show its log.
                var exited = server.WaitForExit(TimeSpan.FromSeconds(30));
                throw new InvalidOperationException(
                    $"/status failed ({e.Message}); the server {(exited ? $"exited with {server.ExitCode}" : "is still running")}:\n{Logs}", e);
            }
            if (condition(status)) return status;
            if (DateTime.UtcNow > until) throw new TimeoutException($"status never matched; last: {status.ToJsonString()}\nserver log:\n{server.Output}");
            await Task.Delay(100, ct);
        }
    }

    public SocketsHttpHandler TrustingHandler() => ConferChannel.TrustingHandler(CaPath);

    /// <summary>Runs any <c>confer</c> command (e.g. <c>report</c>) as a process.</summary>
    public RunningProcess Run(params string[] args) => Start(args[0], args);

    /// <summary>Sets <paramref name="key"/> in the run YAML (e.g. to fix a mistyped value before a restart).</summary>
    public void SetKey(string key, string value)
    {
        var lines = File.ReadAllLines(ConfigPath).Where(l => !l.StartsWith(key + ":", StringComparison.Ordinal)).Append($"{key}: {value}");
        File.WriteAllLines(ConfigPath, lines);
    }

    private RunningProcess Start(string name, params string[] args)
    {
        var p = RunningProcess.Cli(name, args);
        _processes.Add(p);
        return p;
    }

    /// <summary>Every process's output, for assertion messages.</summary>
    public string Logs => string.Join("\n", _processes.Select(p => p.Output));

    /// <summary>Waits for a process to exit with <paramref name="expectedCode"/>; otherwise fails with every process's log.</summary>
    public async Task ExpectExitAsync(RunningProcess process, int expectedCode, TimeSpan timeout, CancellationToken ct)
    {
        int code;
        try
        {
            code = await process.WaitForExitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{process.Name} did not exit within {timeout}.\n{Logs}");
            return;
        }
        Assert.True(code == expectedCode, $"{process.Name} exited with {code}, expected {expectedCode}.\n{Logs}");
    }

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
        _dir.Dispose();
    }
}

/// <summary>A child process whose output is collected for assertion messages.</summary>
internal sealed class RunningProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public RunningProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>
    /// Starts the test build's <c>confer</c> CLI (the binary a user runs) with <paramref name="args"/>, from the
    /// repository root, without the developer's <c>CONFER_API_KEY</c> (a test passes its keys explicitly).
    /// </summary>
    public static RunningProcess Cli(string name, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = DataPaths.RepoRoot };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Confer.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["NO_COLOR"] = "1";
        info.Environment.Remove("CONFER_API_KEY");
        return new RunningProcess(name, Process.Start(info)!);
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>True when the process exits within <paramref name="timeout"/>.</summary>
    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output) return $"--- {Name} ---\n{_output}";
        }
    }

    /// <summary>SIGSTOP: the process freezes mid-whatever (no calls, no heartbeats) until <see cref="Continue"/>.</summary>
    public void Stop() => Signal("-STOP");

    /// <summary>SIGCONT after <see cref="Stop"/>.</summary>
    public void Continue() => Signal("-CONT");

    /// <summary>
    /// Ctrl+C (SIGINT); SIGTERM, which takes the same shutdown path, when the process ignores SIGINT. A test run
    /// started as a background job of a shell without job control (a CI script under nohup or <c>&amp;</c>) hands its
    /// children SIGINT already ignored, and .NET keeps it ignored as every Unix program does.
    /// </summary>
    /// <returns>The signal sent, e.g. <c>-INT</c>.</returns>
    public string Interrupt()
    {
        var signal = IgnoresSigint() ? "-TERM" : "-INT";
        Signal(signal);
        return signal;
    }

    /// <summary>Bit 1 (SIGINT) of the SigIgn mask in /proc/&lt;pid&gt;/status.</summary>
    private bool IgnoresSigint()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << 1)) != 0;
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill {signal} {Name} failed with {kill.ExitCode}");
    }

    /// <summary>SIGKILL: no cleanup, no flush — what a crash or <c>kill -9</c> does.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout}:\n{Output}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        _process.Dispose();
    }
}
