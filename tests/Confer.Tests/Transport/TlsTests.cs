using System.Net;
using System.Runtime.Versioning;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Confer.Tests.Transport.Proto;
using Confer.Transport;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Confer.Tests.Transport;

public sealed class TlsTests : IDisposable
{
    private const string Token = "s3cret-token";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Folder(string name) => Path.Combine(_dir.Path, name);

    private static X509Certificate2 Pem(string folder, string file) => X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(folder, file)));

    [Fact]
    public void ServerCertificateChainsToItsCaAndNamesExactlyTheGivenHostsPlusLocalhost()
    {
        DevCertificates.Create(Folder("a"), ["confer.example", "10.1.2.3"]);
        DevCertificates.Create(Folder("b"), ["confer.example"]);
        using var ca = Pem(Folder("a"), DevCertificates.CaCertificateFile);
        using var otherCa = Pem(Folder("b"), DevCertificates.CaCertificateFile);
        using var server = Pem(Folder("a"), DevCertificates.ServerCertificateFile);

        Assert.True(Chains(server, ca));
        Assert.False(Chains(server, otherCa));

        var san = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["confer.example", "localhost"], san.EnumerateDnsNames().Order());
        Assert.Equal([IPAddress.Parse("10.1.2.3")], san.EnumerateIPAddresses());
        Assert.Contains(server.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>(),
                        oid => oid.Value == "1.3.6.1.5.5.7.3.1");
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, server.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.False(server.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, ca.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.NotNull(server.GetECDsaPublicKey());
        Assert.Equal(16, server.SerialNumberBytes.Length);
        Assert.NotEqual(server.SerialNumber, ca.SerialNumber);
        Assert.InRange(server.NotAfter, DateTime.Now.AddDays(364), DateTime.Now.AddDays(366));
    }

    [Fact, UnsupportedOSPlatform("windows")]
    public void KeyFilesAreOwnerOnly()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        DevCertificates.Create(_dir.Path, ["localhost"]);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File(DevCertificates.CaKeyFile)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File(DevCertificates.ServerKeyFile)));
        Assert.True(File.GetUnixFileMode(_dir.File(DevCertificates.CaCertificateFile)).HasFlag(UnixFileMode.OtherRead));
    }

    [Fact]
    public void ExistingCertificatesAreReplacedOnlyWhenAskedTo()
    {
        DevCertificates.Create(_dir.Path, ["localhost"]);
        var before = File.ReadAllText(_dir.File(DevCertificates.CaCertificateFile));

        var refused = Assert.Throws<IOException>(() => DevCertificates.Create(_dir.Path, ["localhost"]));
        Assert.Contains("--force", refused.Message);
        Assert.Contains(DevCertificates.CaCertificateFile, refused.Message);
        Assert.Equal(before, File.ReadAllText(_dir.File(DevCertificates.CaCertificateFile)));

        DevCertificates.Create(_dir.Path, ["localhost"], overwrite: true);
        Assert.NotEqual(before, File.ReadAllText(_dir.File(DevCertificates.CaCertificateFile)));
        Assert.Equal(4, Directory.GetFiles(_dir.Path).Length);
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeAnythingIsWritten()
    {
        Assert.Contains("not a host", Assert.Throws<ArgumentException>(() => DevCertificates.Create(_dir.Path, ["not a host"])).Message);
        Assert.Throws<ArgumentException>(() => DevCertificates.Create(_dir.Path, ["localhost"], validDays: 0));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void ServerCertificateLoadNamesTheWrongFile()
    {
        DevCertificates.Create(_dir.Path, ["localhost"]);
        var cert = _dir.File(DevCertificates.ServerCertificateFile);

        using (var loaded = ServerCertificate.Load(cert, _dir.File(DevCertificates.ServerKeyFile)))
            Assert.True(loaded.HasPrivateKey);
        var mismatch = Assert.Throws<InvalidDataException>(() => ServerCertificate.Load(cert, _dir.File(DevCertificates.CaKeyFile)));
        Assert.Contains(DevCertificates.CaKeyFile, mismatch.Message);
        var notCert = Assert.Throws<InvalidDataException>(() => ServerCertificate.Load(_dir.File(DevCertificates.ServerKeyFile), _dir.File(DevCertificates.ServerKeyFile)));
        Assert.Contains(DevCertificates.ServerKeyFile, notCert.Message);
        Assert.Throws<FileNotFoundException>(() => ServerCertificate.Load(_dir.File("missing.crt"), _dir.File(DevCertificates.ServerKeyFile)));
    }

    [Fact]
    public void ChannelRefusesClearTextAndEmptyTokens()
    {
        var http = Assert.Throws<ArgumentException>(() => ConferChannel.Create(new Uri("http://127.0.0.1:5000"), null, Token));
        Assert.Contains("clear text", http.Message);
        Assert.Throws<ArgumentException>(() => ConferChannel.Create(new Uri("https://127.0.0.1:5000"), null, " "));
        Assert.Throws<FileNotFoundException>(() => ConferChannel.Create(new Uri("https://127.0.0.1:5000"), _dir.File("missing.crt"), Token));
    }

    [Fact]
    public async Task ClientTrustingTheCaReachesTheServerWithItsTokenAndTheMessageLimit()
    {
        DevCertificates.Create(_dir.Path, ["127.0.0.1"]);
        await using var server = await ProbeServer.StartAsync(_dir.Path);
        using var channel = ConferChannel.Create(server.Address, _dir.File(DevCertificates.CaCertificateFile), Token, maxMessageBytes: 64 << 10);
        var client = new TlsProbe.TlsProbeClient(channel);

        var reply = await Echo(client, 1000);
        Assert.Equal("Bearer " + Token, reply.Authorization);
        Assert.Equal(1000, reply.PayloadBytes);

        var tooLarge = await Assert.ThrowsAsync<RpcException>(() => Echo(client, 100_000));
        Assert.Equal(StatusCode.ResourceExhausted, tooLarge.StatusCode);
    }

    /// <summary>Only the given CA is trusted; without one, the system store does not trust a private CA either.</summary>
    [Fact]
    public async Task ClientTrustingAnotherCaOrTheSystemStoreIsRefused()
    {
        DevCertificates.Create(Folder("server"), ["127.0.0.1"]);
        DevCertificates.Create(Folder("other"), ["127.0.0.1"]);
        await using var server = await ProbeServer.StartAsync(Folder("server"));
        using var otherCa = ConferChannel.Create(server.Address, Path.Combine(Folder("other"), DevCertificates.CaCertificateFile), Token);
        using var systemStore = ConferChannel.Create(server.Address, null, Token);

        AssertTlsRefused(await Assert.ThrowsAsync<RpcException>(() => Echo(new TlsProbe.TlsProbeClient(otherCa), 10)), "certificate chain");
        AssertTlsRefused(await Assert.ThrowsAsync<RpcException>(() => Echo(new TlsProbe.TlsProbeClient(systemStore), 10)), "certificate chain");
    }

    /// <summary>127.0.0.1 is not implied: a certificate for other names fails the name check even when its CA is trusted.</summary>
    [Fact]
    public async Task ServerWhoseCertificateDoesNotNameTheAddressIsRefused()
    {
        DevCertificates.Create(_dir.Path, ["confer.example"]);
        await using var server = await ProbeServer.StartAsync(_dir.Path);
        using var channel = ConferChannel.Create(server.Address, _dir.File(DevCertificates.CaCertificateFile), Token);

        AssertTlsRefused(await Assert.ThrowsAsync<RpcException>(() => Echo(new TlsProbe.TlsProbeClient(channel), 10)), "RemoteCertificateNameMismatch");
    }

    private static async Task<ProbeReply> Echo(TlsProbe.TlsProbeClient client, int payloadBytes) =>
        await client.EchoAsync(new Probe { Payload = ByteString.CopyFrom(new byte[payloadBytes]) },
                               deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: TestContext.Current.CancellationToken);

    private static void AssertTlsRefused(RpcException e, string reason)
    {
        var causes = new List<Exception>();
        for (var inner = e.Status.DebugException; inner is not null; inner = inner.InnerException) causes.Add(inner);
        Assert.Contains(reason, Assert.Single(causes.OfType<AuthenticationException>()).Message);
    }

    private static bool Chains(X509Certificate2 leaf, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    /// <summary>Kestrel on a free loopback port, HTTP/2 over TLS with the folder's server certificate, as the server deploys.</summary>
    private sealed class ProbeServer(WebApplication app, X509Certificate2 certificate, Uri address) : IAsyncDisposable
    {
        public Uri Address { get; } = address;

        public static async Task<ProbeServer> StartAsync(string certFolder)
        {
            var certificate = ServerCertificate.Load(Path.Combine(certFolder, DevCertificates.ServerCertificateFile),
                                                     Path.Combine(certFolder, DevCertificates.ServerKeyFile));
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                o.UseHttps(certificate);
            }));
            builder.Services.AddGrpc();
            var app = builder.Build();
            app.MapGrpcService<ProbeService>();
            await app.StartAsync(TestContext.Current.CancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new ProbeServer(app, certificate, new Uri(address));
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync(TestContext.Current.CancellationToken);
            await app.DisposeAsync();
            certificate.Dispose();
        }
    }

    private sealed class ProbeService : TlsProbe.TlsProbeBase
    {
        public override Task<ProbeReply> Echo(Probe request, ServerCallContext context) => Task.FromResult(new ProbeReply
        {
            Authorization = context.RequestHeaders.GetValue("authorization") ?? "",
            PayloadBytes = request.Payload.Length,
        });
    }
}
