using System.Net;
using System.Text.Json.Nodes;
using Confer.Configuration;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Confer.Federation.Deployment;

/// <summary>
/// <c>confer server</c>: one process that owns the global model and the run's state, serving gRPC (and
/// <c>/status</c> JSON) over TLS on one port. Started again with the same command after a crash, it continues from
/// its last committed round; started with a different experiment config on the same state folder, it refuses.
/// </summary>
public static class FederationServer
{
    private const string RunConfigKey = "run_config";

    public static async Task RunAsync(SimulationSettings run, ServerSettings server, CancellationToken ct)
    {
        run.Validate();
        server.Validate();
        var certificate = ServerCertificate.Load(server.TlsCert, server.TlsKey);
        Directory.CreateDirectory(server.State);
        using var store = ServerStore.Open(server.State);
        CheckSameRun(store, run, server.State);
        var clientIds = store.Clients().Select(c => c.Id).ToList();
        if (clientIds.Count == 0)
            throw new ConfigException($"state '{server.State}': no clients are enrolled; issue tokens first with `confer token add <client-id> --state {server.State}`.");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (server.LogFormat == "json") builder.Logging.AddJsonConsole(o => { o.IncludeScopes = false; o.TimestampFormat = "O"; o.UseUtcTimestamp = true; });
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => FederationEndpoint.ConfigureKestrel(k, server.ListenEndpoint(), certificate));
        builder.Services.AddGrpc(o =>
        {
            FederationEndpoint.ConfigureGrpc(o);
            o.Interceptors.Add<TokenAuthInterceptor>();
        });
        builder.Services.AddSingleton(store);

        using var model = new GlobalModel(run, evaluate: server.EvalEvery > 0);
        using var strategy = StrategySetup.Create(run, model.ClientModel, clientIds);
        var last = store.LastCompletedRound();
        if (last > 0)
        {
            var statePath = Path.Combine(RoundCoordinator.RoundFolder(server.State, last), "state.safetensors");
            if (!File.Exists(statePath))
                throw new ConfigException($"state '{server.State}': round {last} is committed in server.db but {statePath} is missing; restore it from backup or start a new state folder.");
            using var state = Safetensors.Load(statePath);
            strategy.ImportState(state);
        }
        var fingerprint = ModelFingerprint.Of(run.Model);
        builder.Services.AddSingleton(sp => new RoundCoordinator(run, server, store, strategy, clientIds, model, fingerprint,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Confer.Server")));
        await using var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Confer.Server");
        var coordinator = app.Services.GetRequiredService<RoundCoordinator>();
        app.MapGrpcService<FederationService>();
        app.MapGet("/status", (HttpRequest request) => StatusAllowed(request, server.StatusToken)
            ? Results.Text(coordinator.Status().ToJsonString(), "application/json")
            : Results.Text("""{"error":"/status needs 'Authorization: Bearer <status_token>'"}""", "application/json", statusCode: StatusCodes.Status401Unauthorized));
        await app.StartAsync(ct).ConfigureAwait(false);
        var url = WriteEndpoint(app, server);
        log.LogInformation("Serving run '{Run}' ({Strategy}, {Rounds} rounds, {Clients} enrolled clients) at {Url}", run.Name, run.Strategy, run.Rounds, clientIds.Count, url);
        try
        {
            await coordinator.RunAsync(ct).ConfigureAwait(false);
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

    /// <summary>A state folder belongs to one run: a restart with different experiment keys would mix two runs' rounds.</summary>
    private static void CheckSameRun(ServerStore store, SimulationSettings run, string stateFolder)
    {
        var yaml = ConfigBinder.ToYaml(run);
        var stored = store.GetMeta(RunConfigKey);
        if (stored is null) store.SetMeta(RunConfigKey, yaml);
        else if (stored != yaml)
        {
            var differs = stored.Split('\n').Except(yaml.Split('\n')).Select(l => l.Split(':')[0]).Where(k => k.Length > 0).ToList();
            throw new ConfigException(
                $"state '{stateFolder}' holds a run with other settings (differs in: {string.Join(", ", differs)}); restore the original config, or use a new state folder for a new run.");
        }
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
