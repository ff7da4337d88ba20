using Confer.Configuration;
using Confer.Federation.Clients;
using Confer.Federation.Messages;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using FederationGrpc = Confer.Transport.Protocol.Federation;
using Confer.Runtime;

namespace Confer.Federation.Deployment;

/// <summary>
/// <c>confer client</c>: one site's process. It joins the server, learns the run's recipe, prepares its own data
/// exactly as a simulated client would, then polls for tasks, trains (heartbeating) and pushes updates until the run
/// finishes. A lost server is retried with exponential back-off; a refused update is logged and the client carries
/// on with the next round. Tasks run through <see cref="ClientRunner"/>, the same code the simulation runs.
/// </summary>
public sealed class DeployedClient : IDisposable
{
    private readonly ClientSettings _settings;
    private readonly IClientSite _site;
    private readonly ILogger _log;
    private Session? _session;

    /// <param name="settings">This client's keys.</param>
    /// <param name="site">What this client trains (instruction tuning, a FedCoT discriminator …); the server must run the same kind.</param>
    /// <param name="log">Client log.</param>
    public DeployedClient(ClientSettings settings, IClientSite site, ILogger log)
    {
        _settings = settings;
        _site = site;
        _log = log;
    }

    /// <summary>Runs until the server says the run finished (0), or the server stayed unreachable for give_up_after_s (1).</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        var token = _settings.Validate();
        if (_settings.Threads > 0) TorchSharp.torch.set_num_threads(_settings.Threads);
        var fingerprint = ModelFingerprint.Of(_settings.Model);
        using var channel = ConferChannel.Create(new Uri(_settings.Server), _settings.Ca.Length > 0 ? _settings.Ca : null, token, ProtocolInfo.MaxMessageBytes);
        var server = new FederationGrpc.FederationClient(channel);
        var backoff = TimeSpan.FromSeconds(1);
        DateTime? unreachableSince = null;
        while (true)
        {
            try
            {
                var join = await server.JoinAsync(new JoinRequest
                {
                    ProtocolVersion = ProtocolInfo.Version, ModelFingerprint = fingerprint, LoraRank = _settings.LoraRank,
                    MaxLocalSteps = _settings.MaxLocalSteps, ClientVersion = typeof(DeployedClient).Assembly.GetName().Version?.ToString() ?? "",
                }, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: ct);
                unreachableSince = null;
                backoff = TimeSpan.FromSeconds(1);
                var kind = DeployedRun.KindOf(join.RunKind);
                if (kind != _site.RunKind)
                    throw new ConfigException($"the server runs a '{kind}' run and this client trains '{_site.RunKind}'; join it with the client command of that kind " +
                                              $"(`confer client` for {DeployedRun.InstructionTuningKind}, `confer fedcot client` for a FedCoT discriminator).");
                var (session, examples) = Prepare(join, ct);
                _log.LogInformation("Joined as {Client}; {Examples} local training examples", join.ClientId, examples);
                await ServeAsync(server, session, join.HeartbeatSeconds, ct).ConfigureAwait(false);
                return 0;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
            {
                throw new ConfigException($"the server refused this client's token: {e.Status.Detail}");
            }
            catch (RpcException e) when (Inner<System.Security.Authentication.AuthenticationException>(e) is { } tls)
            {
                var host = new Uri(_settings.Server).Host;
                throw new ConfigException(tls.Message.Contains("NameMismatch", StringComparison.Ordinal)
                    ? $"TLS: the server's certificate is not issued for '{host}' (name mismatch); connect with a name or address the certificate lists (`confer certs --host …` sets them), or make a new certificate that includes '{host}'."
                    : $"TLS: the server at {_settings.Server} is not trusted ({tls.Message}); pass --ca with the CA certificate that signed it (ca.crt from `confer certs`).");
            }
            catch (Exception e) when (Inner<System.Net.Sockets.SocketException>(e) is { SocketErrorCode: System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData })
            {
                // A name that does not resolve is a typo far more often than an outage: say so instead of retrying forever.
                throw new ConfigException($"server: the host '{new Uri(_settings.Server).Host}' of {_settings.Server} cannot be resolved; check the URL.");
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.PermissionDenied)
            {
                throw new ConfigException($"the server refused to let this client join: {e.Status.Detail}");
            }
            catch (Exception e) when (IsConnectionFailure(e) && !ct.IsCancellationRequested)
            {
                unreachableSince ??= DateTime.UtcNow;
                var down = DateTime.UtcNow - unreachableSince.Value;
                if (_settings.GiveUpAfterSeconds > 0 && down.TotalSeconds > _settings.GiveUpAfterSeconds)
                {
                    _log.LogError("Server unreachable for {Seconds:0} s; giving up", down.TotalSeconds);
                    return 1;
                }
                var wait = backoff * (0.75 + 0.5 * Random.Shared.NextDouble());
                _log.LogWarning("Server unreachable ({Reason}); retrying in {Seconds:0.0} s", Describe(e), wait.TotalSeconds);
                await Task.Delay(wait, ct).ConfigureAwait(false);
                backoff = TimeSpan.FromSeconds(Math.Min(backoff.TotalSeconds * 2, _settings.MaxBackoffSeconds));
            }
        }
    }

    /// <summary>Polls and runs tasks until the server says the run finished.</summary>
    private async Task ServeAsync(FederationGrpc.FederationClient server, Session session, int heartbeatSeconds, CancellationToken ct)
    {
        var wait = Math.Max(1, heartbeatSeconds);
        while (true)
        {
            var poll = await server.PollAsync(new PollRequest { WaitSeconds = wait }, deadline: DateTime.UtcNow.AddSeconds(wait + 30), cancellationToken: ct);
            switch (poll.Kind)
            {
                case PollReply.Types.Kind.Finished:
                    _log.LogInformation("The run finished (round {Round}); exiting", poll.Round);
                    return;
                case PollReply.Types.Kind.Task:
                    await RunTaskAsync(server, session, poll.TaskId, heartbeatSeconds, ct).ConfigureAwait(false);
                    break;
            }
        }
    }

    private async Task RunTaskAsync(FederationGrpc.FederationClient server, Session session, string taskId, int heartbeatSeconds, CancellationToken ct)
    {
        ClientTask task;
        try
        {
            task = await FetchAsync(server, session.ClientId, taskId, ct).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
        {
            _log.LogInformation("Task {Task} is gone: {Detail}", taskId, e.Status.Detail);
            return;
        }
        catch (TensorStreamException e)
        {
            // Nothing was trained; the next poll offers the same task again while its round is open.
            _log.LogWarning("Task {Task} arrived broken ({Reason}); asking again", taskId, e.Message);
            return;
        }
        if (task.Kind == TaskKind.Setup) _log.LogInformation("Round {Round}: secure aggregation, {Step}", task.Round, task.Config.Get(Privacy.SecureAggregation.SecAggMessages.StepKey));
        else _log.LogInformation(task.Kind == TaskKind.Evaluate ? "Round {Round}: evaluating the global model" : "Round {Round}: training (rank {Rank})", task.Round, task.LoraRank);
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var heartbeat = HeartbeatAsync(server, taskId, heartbeatSeconds, abandon);
        ClientUpdate update;
        try
        {
            update = await Task.Run(() => session.Runner.Run(task, null, abandon.Token), abandon.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            _log.LogWarning("Round {Round}: the server closed this task; abandoned", task.Round);
            return;
        }
        catch (InvalidDataException e)
        {
            _log.LogWarning("Round {Round}: the task cannot be run ({Reason}); skipped", task.Round, e.Message);
            return;
        }
        finally
        {
            await abandon.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            MessageTensors.Release(task);
            task.BaseDelta?.Dispose();
        }
        using (update.Adapter)
        {
            try
            {
                var reply = await PushAsync(server, taskId, task.Round, update, ct).ConfigureAwait(false);
                _log.LogInformation("Round {Round}: {Reply}", task.Round, reply);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.AlreadyExists or StatusCode.InvalidArgument)
            {
                _log.LogWarning("Round {Round}: update refused: {Detail}", task.Round, e.Status.Detail);
            }
        }
    }

    private static async Task<ClientTask> FetchAsync(FederationGrpc.FederationClient server, string clientId, string taskId, CancellationToken ct)
    {
        using var call = server.FetchTask(new FetchTaskRequest { TaskId = taskId }, cancellationToken: ct);
        var (header, adapter, baseDelta) = await TensorStreams.ReceiveTaskAsync(call.ResponseStream, ct).ConfigureAwait(false);
        // The caller disposes both the adapter and the base delta once the task has run: this process fetched them.
        return new ClientTask(header.Round, clientId, adapter.Count > 0 ? adapter : Dispose(adapter), baseDelta.Count > 0 ? baseDelta : Dispose(baseDelta),
            header.LoraRank, header.LoraAlpha)
        {
            Kind = header.Kind switch
            {
                TaskHeader.Types.Kind.Evaluate => TaskKind.Evaluate,
                TaskHeader.Types.Kind.Setup => TaskKind.Setup,
                _ => TaskKind.Train,
            },
            Config = new TaskConfig(header.Config), Codec = header.Codec,
        };
    }

    private static NamedTensors? Dispose(NamedTensors tensors)
    {
        tensors.Dispose();
        return null;
    }

    private static async Task<string> PushAsync(FederationGrpc.FederationClient server, string taskId, int round, ClientUpdate update, CancellationToken ct)
    {
        using var call = server.PushUpdate(cancellationToken: ct);
        var header = new UpdateHeader { TaskId = taskId, Round = round, NumExamples = update.NumExamples, Codec = update.Codec };
        foreach (var (k, v) in update.Metrics) header.Metrics[k] = v;
        await TensorStreams.SendUpdateAsync(call.RequestStream, header, update.Adapter, ct).ConfigureAwait(false);
        return (await call.ResponseAsync.ConfigureAwait(false)).Message;
    }

    /// <summary>Tells the server this client is alive every interval; cancels training when the server says the task closed.</summary>
    private async Task HeartbeatAsync(FederationGrpc.FederationClient server, string taskId, int seconds, CancellationTokenSource abandon)
    {
        try
        {
            while (!abandon.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, seconds)), abandon.Token).ConfigureAwait(false);
                try
                {
                    var reply = await server.HeartbeatAsync(new HeartbeatRequest { TaskId = taskId }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: abandon.Token);
                    if (!reply.TaskOpen) await abandon.CancelAsync().ConfigureAwait(false);
                }
                catch (RpcException e) when (!abandon.IsCancellationRequested)
                {
                    // The server may be restarting: keep training; the push will tell whether the task still counts.
                    _log.LogDebug("Heartbeat failed: {Detail}", e.Status.Detail);
                }
            }
        }
        catch (Exception e) when (abandon.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // Training ended or was abandoned. A heartbeat in flight at that moment ends as RpcException(Cancelled),
            // not OperationCanceledException; letting it escape would throw away the finished update.
        }
    }

    /// <summary>Builds (once per run recipe) the model, data and trainer this client uses.</summary>
    private (Session Session, int TrainingExamples) Prepare(JoinReply join, CancellationToken ct)
    {
        if (_session is { } s && s.RunYaml == join.RunConfigYaml && s.ClientId == join.ClientId) return (s, s.TrainingExamples);
        _session?.Dispose();
        _session = null;
        var site = _site.Prepare(join.ClientId, join.RunConfigYaml, _settings, message => _log.LogInformation("{Message}", message), ct);
        var pipeline = MessageStages.For(site.Driver, ClientState(site.Driver, join), Privacy.DifferentialPrivacy.ClientNoise.Secret);
        _session = new Session(join.RunConfigYaml, join.ClientId, new ClientRunner(site.Trainer, site.Model, pipeline), site.TrainingExamples,
            pipeline.Stages.OfType<Compression.CodecStage>().Select(c => c.ClientState).OfType<IDisposable>().FirstOrDefault());
        return (_session, site.TrainingExamples);
    }

    /// <summary>
    /// Where this client keeps state between rounds: under <c>state</c>, in a folder per run (the fingerprint of the
    /// run's config), so a restarted client continues the run it left and a new run never inherits another's residuals.
    /// </summary>
    private IClientStateStore ClientState(SimulationSettings run, JoinReply join)
    {
        if (_settings.State.Length > 0)
        {
            var runId = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(join.RunConfigYaml)))[..16];
            var store = new FolderClientStateStore(Path.Combine(_settings.State, runId));
            AtomicFile.RemoveLeftovers(store.Root);
            return store;
        }
        if (run.Codecs().Uplink(join.ClientId).KeepsClientState)
            _log.LogWarning("The run's uplink codec keeps error-feedback residuals between rounds, but no state folder is set: a restart of this client " +
                            "loses them (their mass is never sent). Set state: <folder> to keep them.");
        return new MemoryClientStateStore();
    }

    private static bool IsConnectionFailure(Exception e) =>
        e is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled or StatusCode.Aborted }
            or HttpRequestException or IOException;

    private static T? Inner<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
            if (e is T t) return t;
        return null;
    }

    /// <summary>Why the server is unreachable, in the words an operator can act on.</summary>
    private string Describe(Exception e) => Inner<System.Net.Sockets.SocketException>(e)?.SocketErrorCode switch
    {
        System.Net.Sockets.SocketError.ConnectionRefused => $"connection refused at {_settings.Server}: is the server running, and is the port right?",
        System.Net.Sockets.SocketError.TimedOut or System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable =>
            $"no route to {_settings.Server}: check the address and any firewall between this site and the server",
        _ => e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message,
    };

    public void Dispose() => _session?.Dispose();

    private sealed class Session(string runYaml, string clientId, ClientRunner runner, int trainingExamples, IDisposable? state) : IDisposable
    {
        public string RunYaml { get; } = runYaml;
        public string ClientId { get; } = clientId;
        public ClientRunner Runner { get; } = runner;
        public int TrainingExamples { get; } = trainingExamples;

        public void Dispose()
        {
            Runner.Dispose();
            Runner.Model.Dispose();
            Runner.Model.Model.Dispose();
            state?.Dispose();
        }
    }
}
