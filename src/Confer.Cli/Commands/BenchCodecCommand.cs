using System.CommandLine;
using Confer.Cli.Commands.Bench;
using static TorchSharp.torch;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench codec</c>: encode and decode throughput of each codec chain, on one thread, in GB/s of fp32 input,
/// against the goals of issue 9 (≥ 1 GB/s for fp16, int8 and zstd on int8; ≥ 0.3 GB/s for top-k). The input is one
/// 100 M-element fp32 tensor (the issue's measure) or, with <c>--adapter</c>, the update of a config-M client (LoRA r = 8
/// on every linear layer: 112 tensors, 2.5 MB), where per-tensor overheads count.
/// </summary>
internal static class BenchCodecCommand
{
    private static readonly string[] DefaultCodecs =
    [
        "fp16", "bf16", "int8", "int4", "int2", "zstd", "int8 > zstd", "topk:0.1", "topk:0.01", "sparse-lora:0.1", "topk:0.1 > int8 > zstd",
    ];

    /// <summary>The goals of issue 9, by chain id.</summary>
    private static double? Goal(string id) => id switch
    {
        "fp16" or "int8" or "int8>zstd" => 1.0,
        _ when id.StartsWith("topk:", StringComparison.Ordinal) && !id.Contains('>', StringComparison.Ordinal) => 0.3,
        _ => null,
    };

    public static Command Create()
    {
        var elements = new Option<long>("--elements") { Description = "elements of the fp32 tensor (ignored with --adapter)", DefaultValueFactory = _ => 100_000_000 };
        var adapter = new Option<bool>("--adapter") { Description = "code a config-M client's update (LoRA r=8 on every linear layer, 112 tensors, 2.5 MB) instead of one tensor" };
        var repeats = new Option<int?>("--repeats") { Description = "timed repeats per codec after a warm-up (at least one round and 2 s), best reported (default 3; 50 with --adapter)" };
        var threads = new Option<int>("--threads") { Description = "torch threads (the codecs' own kernels run on the calling thread; issue 9 measures on 1)", DefaultValueFactory = _ => 1 };
        var codecs = new Option<string[]>("--codec") { Description = "codec chains to measure, e.g. 'topk:0.1 > int8 > zstd' (repeatable; default: every codec and two chains)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("codec", "Encode/decode throughput of each codec chain, one thread, in GB/s of fp32 input (100 M-element tensor, or a config-M update).")
        {
            elements, adapter, repeats, threads, codecs,
        };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(elements);
            var onAdapter = parse.GetValue(adapter);
            var r = parse.GetValue(repeats) ?? (onAdapter ? 50 : 3);
            var torchThreads = parse.GetValue(threads);
            if (n < 1 || r < 1 || torchThreads < 1) throw new ArgumentException("--elements, --repeats and --threads must be ≥ 1.");
            set_num_threads(torchThreads);
            System.Console.WriteLine(BenchMachine.Describe());
            var load = MachineLoadMonitor.Start();
            using var message = onAdapter ? CodecBench.Adapter(BenchModel.Parse("M"), TrainingBench.LoraRank) : CodecBench.Tensor(n);
            var input = onAdapter
                ? $"the update of a config-M client, LoRA r={TrainingBench.LoraRank} on every linear layer: {message.Count} fp32 tensors, {message.ElementCount:N0} elements ({message.ByteCount / 1e6:F2} MB)"
                : $"one fp32 tensor of {n:N0} elements ({message.ByteCount / 1e9:F2} GB)";
            System.Console.WriteLine($"input: {input}, normal σ = 1e-3, coded as a change (error feedback on, residual in memory); {torchThreads} thread{(torchThreads == 1 ? "" : "s")}; best of {r} after a warm-up");
            System.Console.WriteLine("  GB/s of fp32 input per second of wall time (best repeat) and per CPU second of the process (mean of the repeats;");
            System.Console.WriteLine("  on a loaded machine the CPU figure is what the codec costs, the wall figure includes waiting for a core)");
            System.Console.WriteLine($"  {"codec",-26} {"encode wall",12} {"encode cpu",11} {"decode wall",12} {"decode cpu",11} {"ratio",8} {"max |error|",12}  goal (cpu)");
            var lines = new List<string>();
            foreach (var spec in parse.GetValue(codecs) is { Length: > 0 } c ? c : DefaultCodecs)
            {
                var result = CodecBench.Measure(spec, message, r);
                var goal = Goal(result.Spec);
                var slowest = Math.Min(result.EncodeGigabytesPerCpuSecond, result.DecodeGigabytesPerCpuSecond);
                var verdict = goal is { } g ? $"≥ {g:F1} GB/s: {(slowest >= g ? "met" : "MISSED")}" : "";
                System.Console.WriteLine($"  {result.Spec,-26} {result.EncodeGigabytesPerSecond,12:F3} {result.EncodeGigabytesPerCpuSecond,11:F3} " +
                                         $"{result.DecodeGigabytesPerSecond,12:F3} {result.DecodeGigabytesPerCpuSecond,11:F3} " +
                                         $"{(double)result.InputBytes / result.EncodedBytes,7:F1}× {result.MaxError,12:G3}  {verdict}");
                lines.Add($"{result.Spec} {result.EncodeGigabytesPerSecond:F2}/{result.DecodeGigabytesPerSecond:F2} (cpu {result.EncodeGigabytesPerCpuSecond:F2}/{result.DecodeGigabytesPerCpuSecond:F2})");
            }
            System.Console.WriteLine(load.Describe());
            var what = onAdapter ? "config-M r=8 update" : $"{n / 1e6:F0} M elements";
            System.Console.WriteLine($"summary: codec encode/decode GB/s of fp32 input (wall, and per CPU second), {what}, {torchThreads} thread{(torchThreads == 1 ? "" : "s")}: {string.Join(", ", lines)}; {BenchMachine.Allocator}");
            return 0;
        });
        return command;
    }
}
