using System.Net;
using Confer.Configuration;
using Confer.Federation.Messages;
using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Scheduling;
using Confer.Federation.Simulation;
using Confer.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Confer.Runtime;

namespace Confer.Federation.Deployment;

/// <summary>
/// <c>confer server</c>: one process that owns the global model and the run's state, serving gRPC (and
/// <c>/status</c> JSON) over TLS on one port, and running the same <see cref="RoundDriver"/> as <c>confer simulate</c>
/// with clients reached through the gRPC gate (<see cref="GrpcClientPool"/>) and the record kept in <c>server.db</c>.
/// Started again with the same command after a crash, it continues from its last committed round; started with a
/// different experiment config on the same state folder, it refuses. Everything is checked before anything is written.
/// </summary>
public static class FederationServer
{
    /// <summary>server.db meta key: the run's experiment keys as YAML, written once at the first start.</summary>
    internal const string RunConfigKey = "run_config";

    /// <summary>server.db meta key: when the run first started (UTC).</summary>
    internal const string StartedKey = "started_utc";

    /// <summary>
    /// server.db meta key: the secret key of the server's DP noise (hex). Kept with the state, so a restarted server
    /// adds the noise it would have added, and never derived from the seed, which every client receives.
    /// </summary>
    internal const string DpNoiseKey = "dp_noise_key";

    /// <summary>
    /// server.db meta key: the config clients receive when it is not the round engine's (<see cref="RunConfigKey"/>),
    /// e.g. a FedCoT run's sampling and discriminator keys; pinned like the run config.
    /// </summary>
    internal const string ClientConfigKey = "client_config";

    /// <summary>The run config's keys that are the server's to set (<see cref="ServerSettings"/>), not pinned by the state folder.</summary>
    private static readonly string[] RoundPolicyKeys = ["min_returned", "on_short_round", "max_round_attempts"];

    /// <summary>Runs a deployed instruction-tuning (FedIT) server: <c>confer server</c>.</summary>
    public static Task RunAsync(SimulationSettings run, ServerSettings server, CancellationToken ct) =>
        RunAsync(DeployedRun.InstructionTuning(run), server, ct);

    /// <summary>
    /// Runs a deployed server for any kind of run (<see cref="DeployedRun"/>); it returns when the run finished. The
    /// driver's round-policy keys (min_returned, on_short_round, max_round_attempts) are set to the server's.
    /// </summary>
    public static async Task RunAsync(DeployedRun deployed, ServerSettings server, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(deployed);
        var run = deployed.Driver;
        run.Validate();
        server.Validate();
        // A config's min_returned, on_short_round and max_round_attempts bind to the server's settings, which apply. The
        // run config written below (server.db, so the report) records the values of the run's first start instead of the
        // simulation's defaults; like every deployment key they may change when the server restarts.
        run.MinReturned = server.MinReturned;
        run.OnShortRound = server.OnShortRound;
        run.MaxRoundAttempts = server.MaxRoundAttempts;
        if (Robustness.Attacks.AttackPlan.KindOf(run.Attack) != Robustness.Attacks.AttackKind.None)
            throw new ConfigException("attack: attacks are simulated with `confer simulate`; a deployed server does not run them (set attack: none).");
        var certificate = ServerCertificate.Load(server.TlsCert, server.TlsKey);
        if (!File.Exists(Path.Combine(server.State, ServerStore.FileName)))
            throw new ConfigException($"state '{server.State}': no server.db; enrol clients first with `confer token add <client-id> --state {server.State}`.");
        using var store = ServerStore.Open(server.State);
        var clientIds = store.Clients().Select(c => c.Id).ToList();
        if (clientIds.Count == 0)
            throw new ConfigException($"state '{server.State}': no clients are enrolled; issue tokens first with `confer token add <client-id> --state {server.State}`.");
        if (server.MinAvailableClients > clientIds.Count)
            throw new ConfigException($"min_available_clients: {server.MinAvailableClients} is more than the {clientIds.Count} enrolled clients; no round could ever start. Enrol more clients or lower it.");
        run.Codecs().CheckClients(clientIds, $"state '{server.State}' (enrolled clients)");
        if (run.ClientDevices.Length > 0)
            throw new ConfigException("client_devices: the device and network model is for `confer simulate`; a deployment runs on its clients' real devices and links. Remove it.");
        var yaml = ConfigBinder.ToYaml(run);
        // A state folder that holds no run yet has neither config; one that does pins both (an absent client config, i.e.
        // the clients get the run's own, compares as empty). The clients' config first: it holds the keys the operator
        // wrote (a FedCoT run's driver keys derive from them).
        if (store.GetMeta(RunConfigKey) is { } storedRun)
        {
            var source = $"state '{server.State}'";
            CheckSameRun(server.State, ConfigBinder.ChangedKeys(store.GetMeta(ClientConfigKey) ?? "", deployed.ClientConfigYaml ?? "", source));
            CheckSameRun(server.State, [.. ConfigBinder.ChangedKeys(storedRun, run, source).Except(RoundPolicyKeys)]);
        }

        // The model, tokenizer and test data are checked here, before the state folder records this run's config.
        if (!Directory.Exists(run.Model)) throw new ConfigException($"model: folder '{run.Model}' does not exist.");
        var fingerprint = ModelFingerprint.Of(run.Model);
        var serverModel = deployed.Load();
        using var model = serverModel.Model;
        using var weights = model.Model;
        var noiseKey = store.GetMeta(DpNoiseKey) is { } stored ? Convert.FromHexString(stored) : Privacy.DifferentialPrivacy.GaussianNoise.SecretKey();
        using var strategy = StrategySetup.Create(run, model, clientIds, noiseKey);
        var pipeline = MessageStages.For(run);
        if (store.GetMeta(RunConfigKey) is null)
        {
            store.SetMeta(StartedKey, StoreTime.Stamp(DateTime.UtcNow));
            store.SetMeta(DpNoiseKey, Convert.ToHexString(noiseKey));
            if (deployed.ClientConfigYaml is { } clientYaml) store.SetMeta(ClientConfigKey, clientYaml);
            store.SetMeta(RunConfigKey, yaml);
        }
        // Clients get their config as first stored (equal in value to this start's, checked above): its text fingerprints
        // the run for their state folders, which a restart with another round policy, or by a newer version that added
        // keys at their defaults, must not change.
        var sentYaml = store.GetMeta(ClientConfigKey) ?? store.GetMeta(RunConfigKey)!;
        AtomicFile.RemoveLeftovers(server.State);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (server.LogFormat == "json") builder.Logging.AddJsonConsole(o => { o.IncludeScopes = false; o.TimestampFormat = "O"; o.UseUtcTimestamp = true; });
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        // Kestrel reports a failed bind with a stack trace; the error below says it in one line instead.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning).AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.None)
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.WebHost.ConfigureKestrel(k => FederationEndpoint.ConfigureKestrel(k, server.ListenEndpoint(), certificate));
        builder.Services.AddGrpc(o =>
        {
            FederationEndpoint.ConfigureGrpc(o);
            o.Interceptors.Add<TokenAuthInterceptor>();
        });
        builder.Services.AddSingleton(store);
        // One interceptor for the whole server, so that its count of refused calls spans calls.
        builder.Services.AddSingleton<TokenAuthInterceptor>();
        builder.Services.AddSingleton(sp => new GrpcClientPool(server, store, clientIds, strategy.RankOf, fingerprint, run.Model, deployed.Kind, sentYaml,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Confer.Server")));
        await using var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Confer.Server");
        var pool = app.Services.GetRequiredService<GrpcClientPool>();
        var status = new ServerStatus(run.Name, run.Strategy, run.Rounds, pool, store, log);
        app.MapGrpcService<FederationService>();
        app.MapGet("/status", (HttpRequest request) => StatusAllowed(request, server.StatusToken)
            ? Results.Text(status.ToJson().ToJsonString(), "application/json")
            : Results.Text("""{"error":"/status needs 'Authorization: Bearer <status_token>'"}""", "application/json", statusCode: StatusCodes.Status401Unauthorized));
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new ConfigException($"listen: cannot listen on {server.Listen} ({e.Message.TrimEnd('.')}); choose another port or stop the process that holds it.");
        }
        var url = WriteEndpoint(app, server);
        log.LogInformation("Serving run '{Run}' ({Strategy}, {Rounds} rounds, {Clients} enrolled clients) at {Url}", run.Name, run.Strategy, run.Rounds, clientIds.Count, url);
        try
        {
            var scheduler = SchedulerRegistry.Create(run.Scheduler, new SchedulingOptions
            {
                Fraction = run.Fraction, MinClients = run.MinClients, Seed = run.Seed, RoundDeadlineSeconds = server.RoundDeadlineSeconds,
                RankChoices = run.RankByCapacity ? [.. run.ClientRanks.Distinct().Order()] : [],
            });
            var policy = RoundPolicy.FromKeys(server.MinReturned, server.OnShortRound, server.MaxRoundAttempts);
            var alreadyFinished = store.IsFinished;
            await new RoundDriver(run, strategy, scheduler, pool, store, serverModel, pipeline, policy, status).RunAsync(ct).ConfigureAwait(false);
            if (!alreadyFinished)
            {
                store.MarkFinished();
                log.LogInformation("Run finished after round {Round}; global adapter in {Folder}; report {Report}", run.Rounds,
                    Path.Combine(RunLayout.FinalFolder(store.Folder), "adapter"), RunReport.Write(store.Folder));
            }
            else log.LogInformation("The run already finished; telling clients so");
            pool.MarkFinished();
            // Clients learn the run is over on their next poll.
            await Task.Delay(TimeSpan.FromSeconds(server.LingerSeconds), ct).ConfigureAwait(false);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Open when no status_token is set; otherwise only with that bearer token (compared in constant time).</summary>
    private static bool StatusAllowed(HttpRequest request, string token)
    {
        if (token.Length == 0) return true;
        var header = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        return header.StartsWith(bearer, StringComparison.Ordinal) &&
               System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                   System.Text.Encoding.UTF8.GetBytes(header[bearer.Length..].Trim()), System.Text.Encoding.UTF8.GetBytes(token));
    }

    /// <summary>
    /// A state folder belongs to one run: a restart with different experiment keys would mix two runs' rounds, so it is
    /// refused. Values are compared, not text (the callers' <see cref="ConfigBinder.ChangedKeys{T}(string, T, string)"/>):
    /// a restart after an upgrade that only added keys at their defaults or reworded their help continues the run.
    /// </summary>
    private static void CheckSameRun(string stateFolder, IReadOnlyList<string> differs)
    {
        if (differs.Count == 0) return;
        throw new ConfigException(
            $"state '{stateFolder}' holds a run with other settings (differs in: {string.Join(", ", differs)}); restore the original config, or use a new state folder for a new run.");
    }

    /// <summary>Writes the bound address to <see cref="ServerEndpoint"/> (needed when listening on port 0).</summary>
    private static string WriteEndpoint(WebApplication app, ServerSettings server)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        var host = server.ListenEndpoint().Address.Equals(IPAddress.Any) ? "localhost" : server.ListenEndpoint().Address.ToString();
        var url = $"https://{host}:{port}";
        ServerEndpoint.Write(server.State, url, port);
        return url;
    }
}
