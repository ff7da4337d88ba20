using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Confer.Transport;

/// <summary>
/// The Kestrel and gRPC settings of the federation endpoint, in one place so that <c>confer server</c> and
/// <c>confer bench transfer</c> (which hosts its own endpoint to time tensor streams) run the same transport.
/// </summary>
internal static class FederationEndpoint
{
    /// <summary>
    /// HTTP/2 flow-control window per stream, both directions: how many bytes a sender may have in flight before the
    /// receiver's read grants more, so one stream moves at most window ÷ round-trip time. Kestrel's default of 768 KiB
    /// caps an upload at 16 MB/s over a 50 ms link; 8 MiB allows 170 MB/s there. On loopback, where the round trip is
    /// microseconds, it changes nothing when the machine is idle; 16 MiB helped (+40 %) when other processes delayed
    /// the reader (docs/performance.md). A peer can make the other end buffer at most this much per stream.
    /// </summary>
    public const int StreamWindowBytes = 8 << 20;

    /// <summary>The connection-wide window: two streams' worth, so a poll or heartbeat never waits behind an upload.</summary>
    public const int ConnectionWindowBytes = 2 * StreamWindowBytes;

    /// <summary>Listens on <paramref name="endpoint"/> with TLS, HTTP/2 for gRPC and HTTP/1.1 for <c>/status</c>.</summary>
    public static void ConfigureKestrel(KestrelServerOptions kestrel, IPEndPoint endpoint, X509Certificate2 certificate)
    {
        // Updates of hundreds of MB arrive as one client stream; its size is bounded by max_update_mb, not by Kestrel.
        kestrel.Limits.MaxRequestBodySize = null;
        kestrel.Limits.Http2.InitialStreamWindowSize = StreamWindowBytes;
        kestrel.Limits.Http2.InitialConnectionWindowSize = ConnectionWindowBytes;
        kestrel.Listen(endpoint, o =>
        {
            o.Protocols = HttpProtocols.Http1AndHttp2;
            o.UseHttps(certificate);
        });
    }

    /// <summary>The message limits both ends agree on (<see cref="ProtocolInfo.MaxMessageBytes"/>); tensors travel in frames below them.</summary>
    public static void ConfigureGrpc(GrpcServiceOptions grpc)
    {
        grpc.MaxReceiveMessageSize = ProtocolInfo.MaxMessageBytes;
        grpc.MaxSendMessageSize = ProtocolInfo.MaxMessageBytes;
    }
}
