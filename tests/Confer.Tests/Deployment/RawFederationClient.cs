using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Grpc.Net.Client;
using FederationGrpc = Confer.Transport.Protocol.Federation;

namespace Confer.Tests.Deployment;

/// <summary>
/// A client that speaks the wire protocol directly from the test process, so a test can send what no
/// <c>confer client</c> would: corrupted, truncated or poisoned updates, duplicates, stale task ids.
/// </summary>
internal sealed class RawFederationClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly FederationGrpc.FederationClient _server;

    public RawFederationClient(DeploymentHarness harness, string token)
    {
        _channel = ConferChannel.Create(new Uri(harness.Url), harness.CaPath, token, ProtocolInfo.MaxMessageBytes);
        _server = new FederationGrpc.FederationClient(_channel);
    }

    public async Task<JoinReply> JoinAsync(string modelFingerprint, CancellationToken ct) =>
        await _server.JoinAsync(new JoinRequest { ProtocolVersion = ProtocolInfo.Version, ModelFingerprint = modelFingerprint }, cancellationToken: ct);

    /// <summary>Long-polls until the server hands out a task; returns its id.</summary>
    public async Task<string> PollForTaskAsync(TimeSpan timeout, CancellationToken ct)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            var poll = await _server.PollAsync(new PollRequest { WaitSeconds = 1 }, cancellationToken: ct);
            if (poll.Kind == PollReply.Types.Kind.Task) return poll.TaskId;
            if (poll.Kind == PollReply.Types.Kind.Finished) throw new InvalidOperationException("the run finished before a task arrived");
        }
        throw new TimeoutException($"no task within {timeout}");
    }

    /// <summary>The task's header and its adapter (the base delta is read and dropped).</summary>
    public async Task<(TaskHeader Header, NamedTensors Adapter)> FetchAsync(string taskId, CancellationToken ct)
    {
        using var call = _server.FetchTask(new FetchTaskRequest { TaskId = taskId }, cancellationToken: ct);
        Assert.True(await call.ResponseStream.MoveNext(ct), "the task stream is empty");
        var header = call.ResponseStream.Current.Header;
        Assert.NotNull(header);
        using var reader = new TensorFrameReader(long.MaxValue);
        while (await call.ResponseStream.MoveNext(ct)) reader.Add(call.ResponseStream.Current.Frame);
        reader.Complete(new Dictionary<string, int>
        {
            [ProtocolInfo.AdapterSection] = header.AdapterTensors, [ProtocolInfo.BaseDeltaSection] = header.BaseDeltaTensors,
        });
        reader.Take(ProtocolInfo.BaseDeltaSection).Dispose();
        return (header, reader.Take(ProtocolInfo.AdapterSection));
    }

    /// <summary>Sends <paramref name="header"/> then <paramref name="frames"/> as they are, and returns the server's reply (or throws its RpcException).</summary>
    public async Task<string> PushAsync(UpdateHeader header, IEnumerable<TensorFrame> frames, CancellationToken ct)
    {
        using var call = _server.PushUpdate(cancellationToken: ct);
        try
        {
            await call.RequestStream.WriteAsync(new UpdateMessage { Header = header }, ct);
            foreach (var frame in frames) await call.RequestStream.WriteAsync(new UpdateMessage { Frame = frame }, ct);
            await call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The server answered before reading everything (a refused task id); its status is the call's response.
        }
        return (await call.ResponseAsync).Message;
    }

    /// <summary>Starts an upload with <paramref name="header"/> and <paramref name="frames"/>, then sends nothing more: a stalled upload. Dispose the call to end it.</summary>
    public async Task<IDisposable> StallAsync(UpdateHeader header, IEnumerable<TensorFrame> frames, CancellationToken ct)
    {
        var call = _server.PushUpdate(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new UpdateMessage { Header = header }, ct);
        foreach (var frame in frames) await call.RequestStream.WriteAsync(new UpdateMessage { Frame = frame }, ct);
        return call;
    }

    public void Dispose() => _channel.Dispose();
}
