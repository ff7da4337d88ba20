using System.Diagnostics;
using System.Net;
using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using FederationGrpc = Confer.Transport.Protocol.Federation;

namespace Confer.Cli.Commands.Bench;

/// <summary>One timed transfer: wall time, and the CPU time this process (both ends) spent meanwhile.</summary>
internal sealed record TransferTiming(double Seconds, double CpuSeconds)
{
    /// <summary>How many cores were busy on average: near the core count means CPU-bound.</summary>
    public double CoresBusy => CpuSeconds / Seconds;
}

internal sealed record TransferBenchResult(long Bytes, TransferTiming ColdUp, TransferTiming ColdDown, IReadOnlyList<TransferTiming> Up, IReadOnlyList<TransferTiming> Down)
{
    public double UpMegabytesPerSecond => Bytes / 1e6 / Median(Up).Seconds;

    public double DownMegabytesPerSecond => Bytes / 1e6 / Median(Down).Seconds;

    public static TransferTiming Median(IReadOnlyList<TransferTiming> timings) => timings.OrderBy(t => t.Seconds).ElementAt(timings.Count / 2);
}

/// <summary>
/// Times the deployment's real tensor path on 127.0.0.1: <see cref="TensorFrameWriter"/> frames, a gRPC stream over
/// TLS through <see cref="ConferChannel"/> (trusting a dev CA made for the run), Kestrel configured by
/// <see cref="FederationEndpoint"/> as <c>confer server</c> is, and <see cref="TensorFrameReader"/> with its CRC check
/// at the other end — upload (<c>PushUpdate</c>) and download (<c>FetchTask</c>). Client and server share this
/// process, so both ends' CPU work is on this machine's cores, as on a single-host loopback test.
/// </summary>
internal static class TransferBench
{
    /// <summary>Untimed transfers each way after the cold one: the hot path's code reaches its final JIT tier only after a few.</summary>
    private const int WarmupTransfers = 2;

    public static async Task<TransferBenchResult> RunAsync(NamedTensors payload, int repeats, CancellationToken ct)
    {
        using var certs = new TempFolder();
        DevCertificates.Create(certs.Path, ["127.0.0.1"]);
        var service = new TransferBenchService(payload);
        await using var app = await StartServerAsync(service, certs, ct).ConfigureAwait(false);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        using var channel = ConferChannel.Create(new Uri($"https://127.0.0.1:{address.Port}"), certs.File(DevCertificates.CaCertificateFile), "bench", ProtocolInfo.MaxMessageBytes);
        var client = new FederationGrpc.FederationClient(channel);

        // The first transfer each way opens the connection and runs the path cold (as a client process's first push
        // does), and checks that the bytes arrive intact; the next ones let tiered JIT compilation settle.
        service.Verify = true;
        var coldUp = await TimeAsync(() => UploadAsync(client, payload, ct)).ConfigureAwait(false);
        TransferTiming coldDown;
        NamedTensors? received = null;
        try
        {
            coldDown = await TimeAsync(async () => received = await DownloadAsync(client, ct).ConfigureAwait(false)).ConfigureAwait(false);
            if (!LoraShapedTensors.Identical(received!, payload)) throw new InvalidOperationException("the download arrived different from what was sent.");
        }
        finally
        {
            received?.Dispose();
        }
        service.Verify = false;

        var up = new List<TransferTiming>();
        var down = new List<TransferTiming>();
        for (var i = -WarmupTransfers; i < repeats; i++)
        {
            var u = await TimeAsync(() => UploadAsync(client, payload, ct)).ConfigureAwait(false);
            var d = await TimeAsync(async () => (await DownloadAsync(client, ct).ConfigureAwait(false)).Dispose()).ConfigureAwait(false);
            if (i < 0) continue;
            up.Add(u);
            down.Add(d);
        }
        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return new TransferBenchResult(payload.ByteCount, coldUp, coldDown, up, down);
    }

    private static async Task<WebApplication> StartServerAsync(TransferBenchService service, TempFolder certs, CancellationToken ct)
    {
        var certificate = ServerCertificate.Load(certs.File(DevCertificates.ServerCertificateFile), certs.File(DevCertificates.ServerKeyFile));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => FederationEndpoint.ConfigureKestrel(k, new IPEndPoint(IPAddress.Loopback, 0), certificate));
        builder.Services.AddGrpc(FederationEndpoint.ConfigureGrpc);
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<TransferBenchService>();
        await app.StartAsync(ct).ConfigureAwait(false);
        return app;
    }

    /// <summary>What <c>confer client</c> does to push an update.</summary>
    private static async Task UploadAsync(FederationGrpc.FederationClient client, NamedTensors payload, CancellationToken ct)
    {
        using var call = client.PushUpdate(cancellationToken: ct);
        await TensorStreams.SendUpdateAsync(call.RequestStream, new UpdateHeader { TaskId = "bench", Round = 1, NumExamples = 1 }, payload, ct).ConfigureAwait(false);
        await call.ResponseAsync.ConfigureAwait(false);
    }

    /// <summary>What <c>confer client</c> does to fetch its task's adapter.</summary>
    private static async Task<NamedTensors> DownloadAsync(FederationGrpc.FederationClient client, CancellationToken ct)
    {
        using var call = client.FetchTask(new FetchTaskRequest { TaskId = "bench" }, cancellationToken: ct);
        var (_, adapter, baseDelta) = await TensorStreams.ReceiveTaskAsync(call.ResponseStream, ct).ConfigureAwait(false);
        baseDelta.Dispose();
        return adapter;
    }

    private static async Task<TransferTiming> TimeAsync(Func<Task> transfer)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await transfer().ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        process.Refresh();
        return new TransferTiming(seconds, (process.TotalProcessorTime - cpu).TotalSeconds);
    }
}
