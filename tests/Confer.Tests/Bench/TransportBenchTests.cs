using Confer.Cli.Commands.Bench;
using Confer.Tests.Data;

namespace Confer.Tests.Bench;

/// <summary>
/// The deployment benches run end to end on a small scale: the transfer bench moves a LoRA-shaped update both ways
/// over TLS (and would throw on any corrupted byte), and the client bench starts a real server process, connects
/// clients that the server itself counts, and kills the server afterwards.
/// </summary>
public class TransportBenchTests
{
    [Fact]
    public async Task TransferBenchMovesTheUpdateBothWaysOverTls()
    {
        using var payload = LoraShapedTensors.Create(megabytes: 2);
        Assert.Equal(14, payload.Count); // one layer: 7 modules × (lora_A, lora_B)
        Assert.Equal(LoraShapedTensors.LayerBytes, payload.ByteCount);

        var codec = FrameCodecBench.Run(payload, repeats: 1);
        var network = await TransferBench.RunAsync(payload, repeats: 1, TestContext.Current.CancellationToken);

        Assert.Equal(payload.Count, codec.Frames); // every tensor is below one frame
        Assert.Equal(payload.ByteCount, network.Bytes);
        Assert.Single(network.Up);
        Assert.Single(network.Down);
        Assert.All(network.Up.Concat(network.Down).Append(network.ColdUp).Append(network.ColdDown), t => Assert.True(t.Seconds > 0));
    }

    [Fact]
    public async Task ClientBenchHoldsClientsTheServerCountsAndStopsTheServer()
    {
        var options = new ClientLoadOptions(3, Path.Combine(DataPaths.RepoRoot, "models", "confer-base"))
        {
            Settle = TimeSpan.FromMilliseconds(200), IdleWindow = TimeSpan.FromMilliseconds(200), Probes = 20,
        };
        var lines = new List<string>();
        var result = await ClientLoadBench.RunAsync(options, lines.Add, TestContext.Current.CancellationToken);

        Assert.Null(result.FirstFailure);
        Assert.Equal(3, result.Joined);
        Assert.Equal(3, result.Connected);
        Assert.True(result.ServerRssOneClient > 0 && result.ServerRssLoaded > 0);
        Assert.True(result.ServerOpenFiles >= 3, $"{result.ServerOpenFiles} open files for 3 clients");
        Assert.Equal(20, result.Loaded.Milliseconds.Count);
        var pid = int.Parse(lines[0].Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z", StringComparison.Ordinal),
            $"server {pid} still runs");
    }
}
