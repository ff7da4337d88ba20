using System.CommandLine;
using Confer.Cli.Commands.Bench;
using static TorchSharp.torch;

namespace Confer.Cli.Commands;

/// <summary><c>confer bench matmul</c>: fp32 (or bf16) matmul GFLOP/s (square and model shapes) and memory bandwidth.</summary>
internal static class BenchMatmulCommand
{
    public static Command Create()
    {
        var sizeMib = new Option<int>("--size-mib") { Description = "size of each tensor of the bandwidth test", DefaultValueFactory = _ => 256 };
        var bf16 = new Option<bool>("--bf16") { Description = "time bfloat16 products instead of fp32 (what training with bf16: true runs its frozen-weight products in; fast only on CPUs with AVX512-BF16 or AMX)" };
        var command = new Command("matmul", "fp32 (or bf16) matmul GFLOP/s for square and model shapes, and memory bandwidth in GB/s.") { sizeMib, bf16 };
        command.SetAction(parse =>
        {
            System.Console.WriteLine(BenchMachine.Describe());
            var load = MachineLoadMonitor.Start();
            var shapes = MatmulProbe.SquareShapes.Concat(MatmulProbe.ModelShapes(BenchModel.Parse("S"))).Concat(MatmulProbe.ModelShapes(BenchModel.Parse("M")));
            var (dtype, type) = parse.GetValue(bf16) ? (ScalarType.BFloat16, "bf16") : (ScalarType.Float32, "fp32");
            System.Console.WriteLine($"{type} matmul, linear(x, W) = x·Wᵀ, {get_num_threads()} threads:");
            var results = new List<MatmulResult>();
            foreach (var shape in shapes)
            {
                var r = MatmulProbe.Measure(shape, dtype: dtype);
                results.Add(r);
                System.Console.WriteLine($"  {shape.Label,-40} {shape.Flops / 1e9,8:F2} GFLOP {r.Seconds * 1000,9:F2} ms {r.GflopsPerSecond,8:F1} GFLOP/s");
            }
            var peak = MatmulProbe.Peak(results);
            var mib = parse.GetValue(sizeMib);
            System.Console.WriteLine($"memory bandwidth, {mib} MiB fp32 tensors (best of 5):");
            var bandwidth = MemoryBandwidthProbe.Measure((long)mib << 20);
            foreach (var b in bandwidth) System.Console.WriteLine($"  {b.Label,-40} {b.GigabytesPerSecond,8:F1} GB/s");
            var square = results.First(r => r.Shape.Label == "1024³");
            System.Console.WriteLine(load.Describe());
            System.Console.WriteLine(
                $"summary: {type} matmul peak {peak.GflopsPerSecond:F0} GFLOP/s ({peak.Shape.Label.Trim()}), 1024³ {square.GflopsPerSecond:F0} GFLOP/s; " +
                $"memory bandwidth copy {bandwidth[0].GigabytesPerSecond:F1} GB/s, add {bandwidth[1].GigabytesPerSecond:F1} GB/s; " +
                $"{get_num_threads()} threads, {BenchMachine.Allocator}");
            return 0;
        });
        return command;
    }
}
