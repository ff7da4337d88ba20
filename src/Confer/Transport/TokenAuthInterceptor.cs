using Confer.Federation.Deployment;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Confer.Transport;

/// <summary>
/// Every call must carry <c>authorization: Bearer &lt;token&gt;</c> with a token the operator issued and has not
/// revoked; the token decides who the caller is. Anything else is <see cref="StatusCode.Unauthenticated"/>, logged
/// with the peer's address and recorded in the server's event log — both batched, so that a flood of bad calls costs
/// neither a disk write nor a console line each.
/// </summary>
internal sealed class TokenAuthInterceptor(ServerStore store, ILogger<TokenAuthInterceptor> log) : Interceptor
{
    private const string ClientKey = "confer.client";
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);
    private readonly Lock _logGate = new();
    private DateTime _lastLog = DateTime.MinValue;
    private int _unlogged;

    /// <summary>The authenticated client id of a call that passed this interceptor.</summary>
    public static string ClientId(ServerCallContext context) => (string)context.GetHttpContext().Items[ClientKey]!;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, responseStream, context);
    }

    private void Authenticate(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        const string bearer = "Bearer ";
        var token = header is not null && header.StartsWith(bearer, StringComparison.Ordinal) ? header[bearer.Length..].Trim() : null;
        var clientId = token is { Length: > 0 } ? store.Authenticate(token) : null;
        if (clientId is null)
        {
            var why = token is null ? "no bearer token" : "unknown or revoked token";
            store.RecordRefusal($"{why} from {PeerHost(context.Peer)}");
            LogRefusal(context, why);
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                $"{why}; ask the server operator for a token (`confer token add <client-id>`) and pass it with --token."));
        }
        store.Touch(clientId, DateTime.UtcNow);
        context.GetHttpContext().Items[ClientKey] = clientId;
    }

    /// <summary>The first refusal is logged at once, later ones as one line per interval with their count.</summary>
    private void LogRefusal(ServerCallContext context, string why)
    {
        int skipped;
        lock (_logGate)
        {
            if (DateTime.UtcNow - _lastLog < LogInterval)
            {
                _unlogged++;
                return;
            }
            skipped = _unlogged;
            _unlogged = 0;
            _lastLog = DateTime.UtcNow;
        }
        var more = skipped > 0 ? $" ({skipped} more refused since the last such line)" : "";
        log.LogWarning("Unauthenticated call to {Method} from {Peer}: {Why}{More}", context.Method, context.Peer, why, more);
    }

    /// <summary>The peer's address without its port (gRPC peers read <c>ipv4:1.2.3.4:5678</c>), so one host is one cause.</summary>
    private static string PeerHost(string peer) => peer.LastIndexOf(':') is var colon and > 0 ? peer[..colon] : peer;
}
