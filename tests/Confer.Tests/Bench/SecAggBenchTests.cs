using Confer.Cli.Commands.Bench;
using Confer.Models;
using Confer.Privacy.SecureAggregation;
using static TorchSharp.torch;

namespace Confer.Tests.Bench;

/// <summary>
/// <c>confer bench secagg</c> on a small scale: its round ends at the plain mean within the fixed-point resolution (so
/// the timed protocol is the working one), and its per-client bytes equal the sizes of the protocol's messages counted
/// by hand — two public keys, n − 1 encrypted share pairs and a commitment, the masked words, one revealed share per
/// survivor up; the key directory, the adapter and n − 1 relayed share messages down.
/// </summary>
public class SecAggBenchTests
{
    private const int Parameters = 1000;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_bench_round_recovers_the_mean_and_counts_every_message_byte(bool dropout)
    {
        const int n = 5;
        using var start = CodecBench.Tensor(Parameters);
        using var trained = new NamedTensors();
        trained.Add(start.Names.Single(), start[start.Names.Single()].add(randn([Parameters], generator: new Generator(3)).mul_(1e-3)));

        var r = SecAggBench.Run(start, trained, n, dropout);

        // Each client's value is off by at most c/T, so the mean is too (plus fp32 rounding of trained − start).
        Assert.True(r.MaxError <= FixedPoint.ForContributors(8, n).Resolution + 1e-9, $"max error {r.MaxError}");
        var senders = dropout ? n - 1 : n;
        var share = ShareCipher.CipherLength(SecAggMessages.SharePlainBytes);
        long idBytes = "client_0\nclient_1\nclient_2\nclient_3\nclient_4".Length;
        long up = n * (2 * 65 + (n - 1) * share + 32) + senders * ((2 + Parameters) * 4 + n * 66);
        long down = n * (idBytes + 2 * n * 65) + senders * (Parameters * 4 + (n - 1) * share);
        Assert.Equal(up / n, r.UpBytes);
        Assert.Equal(down / n, r.DownBytes);
        Assert.Equal(dropout ? 1 : 0, r.Dropped);
        Assert.True(r.ServerUnmask.Wall > 0 && r.ClientMask.Wall > 0);
    }
}
