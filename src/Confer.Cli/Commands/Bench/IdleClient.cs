using Confer.Transport;
using Confer.Transport.Protocol;
using Grpc.Core;
using Grpc.Net.Client;
using FederationGrpc = Confer.Transport.Protocol.Federation;

namespace Confer.Cli.Commands.Bench;

/// <summary>
/// A client as the server sees one between rounds: its own TLS connection (<see cref="ConferChannel"/>), joined with
/// the real model fingerprint, then long-polling (30 s) in a loop, as <c>confer client</c> does while no task waits.
/// </summary>
internal sealed class IdleClient : IDisposable
{
    public const int PollWaitSeconds = 30;

    private readonly GrpcChannel _channel;
    private readonly FederationGrpc.FederationClient _client;

    public IdleClient(Uri server, string caPath, string token)
    {
        _channel = ConferChannel.Create(server, caPath, token, ProtocolInfo.MaxMessageBytes);
        _client = new FederationGrpc.FederationClient(_channel);
    }

    /// <summary>The first failure of the poll loop, if any.</summary>
    public Exception? Failure { get; private set; }

    public async Task JoinAsync(string modelFingerprint, CancellationToken ct) =>
        await _client.JoinAsync(new JoinRequest { ProtocolVersion = ProtocolInfo.Version, ModelFingerprint = modelFingerprint, ClientVersion = "bench" },
            deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: ct);

    /// <summary>Long-polls until <paramref name="ct"/> is cancelled; a failure ends the loop and is kept in <see cref="Failure"/>.</summary>
    public async Task PollLoopAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
                await _client.PollAsync(new PollRequest { WaitSeconds = PollWaitSeconds }, deadline: DateTime.UtcNow.AddSeconds(PollWaitSeconds + 30), cancellationToken: ct);
        }
        catch (Exception e) when (ct.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // Stopped by the bench.
        }
        catch (Exception e)
        {
            Failure = e;
        }
    }

    /// <summary>One poll that returns at once: the round trip of the cheapest authenticated call.</summary>
    public async Task ProbeAsync(CancellationToken ct) =>
        await _client.PollAsync(new PollRequest { WaitSeconds = 0 }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct);

    public void Dispose() => _channel.Dispose();
}
