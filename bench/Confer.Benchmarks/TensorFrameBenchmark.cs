using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Google.Protobuf;
using static TorchSharp.torch;

namespace Confer.Benchmarks;

/// <summary>
/// The deployment's tensor framing without a network, for a 65 MB update shaped like a 7B Llama LoRA r = 16 adapter
/// (13 layers × q, k, v, o, gate, up, down; 182 fp32 tensors of 256–688 KiB): encode is what the sender does
/// (<see cref="TensorFrameWriter"/> frames with CRC-32, serialised as gRPC would into a reused buffer), decode what
/// the receiver does (parse each message, rebuild the tensors with <see cref="TensorFrameReader"/>, CRC check).
/// A GB/s column divides the payload by the mean time.
/// </summary>
[MemoryDiagnoser(displayGenColumns: false)]
[Config(typeof(ThroughputConfig))]
public class TensorFrameBenchmark
{
    private const int Layers = 13;
    private const int Hidden = 4096;
    private const int Ffn = 11008;
    private const int Rank = 16;

    private static readonly (int In, int Out)[] Modules = [(Hidden, Hidden), (Hidden, Hidden), (Hidden, Hidden), (Hidden, Hidden), (Hidden, Ffn), (Hidden, Ffn), (Ffn, Hidden)];

    /// <summary>Bytes of the update: Σ r·(d_in + d_out)·4 over the modules and layers.</summary>
    public static long PayloadBytes => Layers * Modules.Sum(m => (long)Rank * (m.In + m.Out)) * sizeof(float);

    private NamedTensors _update = null!;
    private byte[] _buffer = null!;
    private byte[] _wire = null!;
    private int[] _sizes = null!;

    [GlobalSetup]
    public void Setup()
    {
        var generator = new Generator(5);
        _update = new NamedTensors();
        for (var layer = 0; layer < Layers; layer++)
            for (var m = 0; m < Modules.Length; m++)
            {
                _update.Add($"layers.{layer}.m{m}.lora_A.weight", randn([Rank, Modules[m].In], generator: generator));
                _update.Add($"layers.{layer}.m{m}.lora_B.weight", randn([Modules[m].Out, Rank], generator: generator));
            }
        _buffer = new byte[ProtocolInfo.MaxMessageBytes];
        var messages = TensorFrameWriter.Frames(ProtocolInfo.UpdateSection, _update).Select(f => new UpdateMessage { Frame = f }).ToList();
        _sizes = [.. messages.Select(m => m.CalculateSize())];
        _wire = new byte[_sizes.Sum()];
        var offset = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            messages[i].WriteTo(_wire.AsSpan(offset, _sizes[i]));
            offset += _sizes[i];
        }
    }

    [Benchmark(Description = "encode: frames + CRC-32 + protobuf, 65 MB LoRA-shaped update")]
    public int Encode()
    {
        var total = 0;
        foreach (var frame in TensorFrameWriter.Frames(ProtocolInfo.UpdateSection, _update))
        {
            var message = new UpdateMessage { Frame = frame };
            var size = message.CalculateSize();
            message.WriteTo(_buffer.AsSpan(0, size));
            total += size;
        }
        return total;
    }

    [Benchmark(Description = "decode: protobuf + frames → tensors + CRC-32, 65 MB")]
    public long Decode()
    {
        using var reader = new TensorFrameReader(PayloadBytes);
        var offset = 0;
        foreach (var size in _sizes)
        {
            reader.Add(UpdateMessage.Parser.ParseFrom(_wire.AsSpan(offset, size)).Frame);
            offset += size;
        }
        reader.Complete(new Dictionary<string, int> { [ProtocolInfo.UpdateSection] = _update.Count });
        using var rebuilt = reader.Take(ProtocolInfo.UpdateSection);
        return rebuilt.ByteCount;
    }

    [GlobalCleanup]
    public void Cleanup() => _update.Dispose();

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new GigabytesPerSecondColumn(PayloadBytes));
    }
}

/// <summary>Payload bytes over the mean time of a benchmark, in GB/s (10⁹ bytes per second).</summary>
internal sealed class GigabytesPerSecondColumn(long bytes) : IColumn
{
    public string Id => nameof(GigabytesPerSecondColumn);
    public string ColumnName => "GB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"payload ({bytes:N0} bytes) / mean time, 10⁹ bytes per second";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        summary[benchmarkCase]?.ResultStatistics is { } stats ? (bytes / stats.Mean).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "NA";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
