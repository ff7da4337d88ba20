using Confer.Compression;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Tests.Federation.Simulation;
using static TorchSharp.torch;

namespace Confer.Tests.Federation.Rounds;

/// <summary>
/// The driver's message stage runs on every task and update in a simulation, both halves in-process, and the traffic
/// ledger counts what the stage produced. (The deployment tests show the same stage at work over gRPC: the codec id
/// travels in every header, and a reply with another codec is refused by name.)
/// </summary>
public class MessageHookTests(SimulationEngineTests.ModelFolder model) : IClassFixture<SimulationEngineTests.ModelFolder>
{
    [Fact]
    public void A_codec_encodes_and_decodes_every_message_and_the_ledger_counts_the_encoded_bytes()
    {
        CountingCodec.Reset();
        using var dir = new TempDir();
        var settings = new SimulationSettings
        {
            Name = "hook", Output = dir.Path, Model = model.Path, Rounds = 2, Fraction = 0.2, LocalSteps = 1, MicroBatchSize = 2,
            Data = SharedDataPath.Of("dolly-15k", "shepherd-10clients"), TestData = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "global_test.json"),
            MaxClientRecords = 8, LocalTestFraction = 0.05, CutoffLen = 128, LoraRank = 2, LoraAlpha = 4, Baselines = [], EvalBatchSize = 16,
            UplinkCodec = CountingCodec.Name, DownlinkCodec = CountingCodec.Name,
        };
        var result = SimulationEngine.Run(settings, Path.Combine(dir.Path, "hook"), resume: false, ct: TestContext.Current.CancellationToken);
        var rounds = new RunFolder(result.RunFolder).Rounds().Where(r => r.Round > 0).ToList();

        // Two rounds of two clients: 4 training tasks and 4 updates; after the last round 10 evaluation tasks and 10
        // replies. Each message is encoded once by its sender and decoded once by its receiver.
        var trained = rounds.Sum(r => r.Aggregated.Count);
        Assert.Equal(4, trained);
        Assert.Equal(2 * (trained + 10), CountingCodec.Encoded);
        Assert.Equal(CountingCodec.Encoded, CountingCodec.Decoded);
        // The codec sends float64: the ledger holds twice the fp32 adapter's bytes per parameter.
        foreach (var r in rounds)
        {
            Assert.Equal(r.Down.Parameters * 8, r.Down.Bytes);
            Assert.Equal(r.Up.Parameters * 8, r.Up.Bytes);
        }
    }

    /// <summary>A lossless codec that widens fp32 to fp64 on the wire and counts its calls.</summary>
    private sealed class CountingCodec : ITensorCodec
    {
        public const string Name = "test-counting-fp64";
        private static int _encoded, _decoded;

        static CountingCodec() => CodecRegistry.Register(Name, () => new CountingCodec());

        public static int Encoded => _encoded;

        public static int Decoded => _decoded;

        public string Id => Name;

        /// <summary>Runs the static constructor (registration) and zeroes the counters.</summary>
        public static void Reset() => _encoded = _decoded = 0;

        public NamedTensors Encode(NamedTensors tensors, CodecContext context)
        {
            Interlocked.Increment(ref _encoded);
            return tensors.Clone(dtype: ScalarType.Float64);
        }

        public NamedTensors Decode(NamedTensors encoded, CodecContext context)
        {
            Interlocked.Increment(ref _decoded);
            return encoded.Clone(dtype: ScalarType.Float32);
        }
    }
}
