using Confer.Federation.Deployment;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Confer.Transport;

/// <summary>
/// Every call must carry <c>authorization: Bearer &lt;token&gt;</c> with a token the operator issued and has not
/// revoked; the token decides who the caller is. Anything else is <see cref="StatusCode.Unauthenticated"/>, logged
/// with the peer's address and recorded in the server's event log.
/// </summary>
internal sealed class TokenAuthInterceptor(ServerStore store, ILogger<TokenAuthInterceptor> log) : Interceptor
{
    private const string ClientKey = "confer.client";

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
            log.LogWarning("Unauthenticated call to {Method} from {Peer}: {Why}", context.Method, context.Peer, why);
            store.LogEvent("unauthenticated", null, $"{context.Method} from {context.Peer}: {why}");
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                $"{why}; ask the server operator for a token (`confer token add <client-id>`) and pass it with --token."));
        }
        store.Touch(clientId, DateTime.UtcNow);
        context.GetHttpContext().Items[ClientKey] = clientId;
    }
}
