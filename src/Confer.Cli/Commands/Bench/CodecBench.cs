using System.Diagnostics;
using Confer.Compression;
using Confer.Federation.Clients;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Cli.Commands.Bench;

/// <summary>Encode and decode throughput of one codec chain on one update, in GB/s of fp32 input (best of the repeats).</summary>
internal static class CodecBench
{
    private const float Sigma = 1e-3f;

    /// <summary>Warm-up rounds run until this much time has passed (at least one round).</summary>
    private const double WarmUpSeconds = 2;

    /// <param name="EncodeSeconds">Best wall time of one encode.</param>
    /// <param name="DecodeSeconds">Best wall time of one decode.</param>
    /// <param name="EncodeCpuSeconds">Mean CPU time of the process per encode: what the codec costs when other processes take turns on the cores.</param>
    /// <param name="DecodeCpuSeconds">Mean CPU time of the process per decode.</param>
    public sealed record Result(string Spec, double EncodeSeconds, double DecodeSeconds, double EncodeCpuSeconds, double DecodeCpuSeconds,
        long InputBytes, long EncodedBytes, double MaxError)
    {
        public double EncodeGigabytesPerSecond => InputBytes / EncodeSeconds / 1e9;

        public double DecodeGigabytesPerSecond => InputBytes / DecodeSeconds / 1e9;

        public double EncodeGigabytesPerCpuSecond => InputBytes / EncodeCpuSeconds / 1e9;

        public double DecodeGigabytesPerCpuSecond => InputBytes / DecodeCpuSeconds / 1e9;
    }

    /// <summary>One fp32 tensor of <paramref name="elements"/> values shaped like a LoRA update: normal, σ = 10⁻³, seeded.</summary>
    public static NamedTensors Tensor(long elements)
    {
        var generator = new Generator(42);
        var message = new NamedTensors();
        message.Add("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight", randn([elements], generator: generator).mul_(Sigma));
        return message;
    }

    /// <summary>
    /// The update a config-M client sends with LoRA r = <paramref name="rank"/> on every linear layer: the real names
    /// and shapes (lora_A [r, d_in], lora_B [d_out, r]), normal values with σ = 10⁻³, seeded.
    /// </summary>
    public static NamedTensors Adapter(BenchModel model, int rank)
    {
        string[] modules = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];
        var generator = new Generator(42);
        var message = new NamedTensors();
        for (var layer = 0; layer < model.Config.NumHiddenLayers; layer++)
            foreach (var (module, (din, dout)) in modules.Zip(model.LayerLinears))
            {
                var prefix = $"base_model.model.model.layers.{layer}.{module}";
                message.Add($"{prefix}.lora_A.weight", randn([rank, din], generator: generator).mul_(Sigma));
                message.Add($"{prefix}.lora_B.weight", randn([dout, rank], generator: generator).mul_(Sigma));
            }
        return message;
    }

    /// <summary>
    /// Codes <paramref name="message"/> as a client's update in consecutive rounds: every tensor is a change (the uplink's
    /// lossy path), error feedback on, the residual kept in memory — the figures are the codec's, not a disk's.
    /// The first rounds are a warm-up (JIT, first-touch page faults), at least one and until <see cref="WarmUpSeconds"/>
    /// have passed: .NET compiles a method first without optimisation and recompiles it after about 30 calls, so on a
    /// small message a single warm-up round left the first codecs measured partly on unoptimised code (measured: a
    /// chain containing <c>topk:0.1</c> ran faster than <c>topk:0.1</c> alone, measured before it). The first round
    /// gives the largest decoding error.
    /// </summary>
    public static Result Measure(string spec, NamedTensors message, int repeats)
    {
        var chain = CodecChain.Parse(spec, "--codec");
        using var state = new MemoryClientStateStore();
        var changes = message.Names.ToHashSet(StringComparer.Ordinal);
        double encode = double.MaxValue, decode = double.MaxValue, encodeCpu = 0, decodeCpu = 0, error = 0;
        using var process = Process.GetCurrentProcess();
        long encodedBytes = 0;
        var warmUp = Stopwatch.StartNew();
        var timed = 0;
        for (var r = 0; timed < repeats; r++)
        {
            var warming = r == 0 || warmUp.Elapsed.TotalSeconds < WarmUpSeconds;
            // Round r + 1 of one client: the residual of the round before (if any) is added back, as on a client.
            var context = new CodecContext("client_0", r + 1, 42) { State = state, Changes = changes };
            var cpu = Cpu(process);
            var clock = Stopwatch.StartNew();
            var encoded = chain.Encode(message, context);
            var encodeSeconds = clock.Elapsed.TotalSeconds;
            var encodeCpuSeconds = Cpu(process) - cpu;
            try
            {
                encodedBytes = encoded.ByteCount;
                cpu = Cpu(process);
                clock.Restart();
                using var decoded = chain.Decode(encoded, context);
                var decodeSeconds = clock.Elapsed.TotalSeconds;
                var decodeCpuSeconds = Cpu(process) - cpu;
                if (r == 0)
                    error = message.Names.Max(name =>
                    {
                        using var difference = (decoded[name] - message[name]).abs().max();
                        return difference.item<float>();
                    });
                if (warming) continue;
                timed++;
                encode = Math.Min(encode, encodeSeconds);
                decode = Math.Min(decode, decodeSeconds);
                encodeCpu += encodeCpuSeconds / repeats;
                decodeCpu += decodeCpuSeconds / repeats;
            }
            finally
            {
                if (!ReferenceEquals(encoded, message)) encoded.Dispose();
            }
        }
        return new Result(chain.Id, encode, decode, encodeCpu, decodeCpu, message.ByteCount, encodedBytes, error);
    }

    /// <summary>The process's CPU seconds so far (Linux counts them in 10 ms ticks: a mean over the repeats, not a best).</summary>
    private static double Cpu(Process process)
    {
        process.Refresh();
        return process.TotalProcessorTime.TotalSeconds;
    }
}
