using System.Diagnostics;
using static TorchSharp.torch;

namespace Confer.Cli.Commands.Bench;

/// <summary>A measured streaming rate: bytes read plus bytes written per second.</summary>
internal sealed record BandwidthResult(string Label, long BytesMoved, double Seconds)
{
    public double GigabytesPerSecond => BytesMoved / Seconds / 1e9;
}

/// <summary>
/// Measures main-memory bandwidth with two libtorch streaming kernels over fp32 tensors far larger than the caches:
/// <c>copy</c> (dst ← src: one read, one write) and <c>add</c> (a ← a + b: two reads, one write — the pattern of
/// FedAvg's weighted accumulation). Bytes moved count every read and write; the best of several passes is reported.
/// </summary>
internal static class MemoryBandwidthProbe
{
    public static IReadOnlyList<BandwidthResult> Measure(long bytesPerTensor = 256L << 20, int passes = 5)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var n = bytesPerTensor / sizeof(float);
        var a = rand(n);
        var b = rand(n);
        // Touch every page once so that page faults are not timed.
        a.add_(b);
        var copy = Best(() => b.copy_(a), passes);
        var add = Best(() => a.add_(b), passes);
        return
        [
            new("copy (1 read + 1 write)", 2 * bytesPerTensor, copy),
            new("add  (2 reads + 1 write)", 3 * bytesPerTensor, add),
        ];
    }

    private static double Best(Func<Tensor> op, int passes)
    {
        var best = double.MaxValue;
        for (var i = 0; i < passes; i++)
        {
            var clock = Stopwatch.StartNew();
            op();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }
}
