using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;

namespace Confer.Transport;

/// <summary>
/// The one gRPC channel a Confer client keeps to its server: TLS always (the bearer token rides on every call), trust
/// in either the deployment's own CA or the system store, and message limits stated rather than left to defaults.
/// </summary>
internal static class ConferChannel
{
    /// <param name="server">the server's <c>https://host:port</c> address; the host must be a name in its certificate.</param>
    /// <param name="caCertPath">the deployment's <c>ca.crt</c>: when given, the server must chain to this CA and no other
    /// (public CAs included); when null, the system trust store decides, for servers with a public certificate.</param>
    /// <param name="token">sent as <c>authorization: Bearer …</c> on every call.</param>
    /// <param name="maxMessageBytes">the largest message sent or received; payloads larger than this must be chunked.</param>
    public static GrpcChannel Create(Uri server, string? caCertPath, string token, long maxMessageBytes = 8 << 20)
    {
        if (server.Scheme == Uri.UriSchemeHttp)
            throw new ArgumentException($"Server address '{server}' uses http://; Confer only talks TLS because the access token " +
                                        "must not travel in clear text. Use https:// (and `confer certs` for a private CA).", nameof(server));
        if (server.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"Server address '{server}' must start with https://.", nameof(server));
        if (string.IsNullOrWhiteSpace(token))
            throw new ArgumentException("The access token is empty; every call to the server must carry one.", nameof(token));
        if (maxMessageBytes is < 1 or > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(maxMessageBytes), maxMessageBytes, $"The message size limit must be between 1 byte and {int.MaxValue} bytes.");

        var handler = TrustingHandler(caCertPath);
        // One HTTP/2 connection caps concurrent streams at ~100; several let parallel uploads proceed.
        handler.EnableMultipleHttp2Connections = true;
        // Pings keep NATs and load balancers from dropping a connection that is idle while the client trains.
        handler.KeepAlivePingDelay = TimeSpan.FromSeconds(20);
        handler.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        handler.PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan;
        // A task's tensors stream back to back instead of waiting for the window to grow (see FederationEndpoint).
        handler.InitialHttp2StreamWindowSize = FederationEndpoint.StreamWindowBytes;

        var bearer = "Bearer " + token;
        var credentials = ChannelCredentials.Create(ChannelCredentials.SecureSsl, CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("authorization", bearer);
            return Task.CompletedTask;
        }));
        return GrpcChannel.ForAddress(server, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            Credentials = credentials,
            MaxReceiveMessageSize = (int)maxMessageBytes,
            MaxSendMessageSize = (int)maxMessageBytes,
        });
    }

    /// <summary>
    /// An HTTPS handler that trusts only the CA in <paramref name="caCertPath"/> (or the system store when null): for
    /// the gRPC channel, and for anything else that talks to the server, such as <c>/status</c>.
    /// </summary>
    public static SocketsHttpHandler TrustingHandler(string? caCertPath)
    {
        var handler = new SocketsHttpHandler();
        if (caCertPath is null) return handler;
        // SslStream builds the chain with this policy, and checks the host name and reports every error to its default
        // validation, which refuses the connection on any of them: no custom callback that could accept too much.
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            CustomTrustStore = { LoadCa(caCertPath) },
            // A private dev CA publishes no revocation lists.
            RevocationMode = X509RevocationMode.NoCheck,
        };
        return handler;
    }

    private static X509Certificate2 LoadCa(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"The CA certificate '{path}' does not exist; copy ca.crt from the server operator (never ca.key).", path);
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"'{path}' holds no PEM certificate ({e.Message}); pass the ca.crt written by `confer certs`.", e);
        }
    }
}
