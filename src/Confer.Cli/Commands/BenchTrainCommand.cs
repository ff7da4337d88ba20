using System.CommandLine;
using Confer.Cli.Commands.Bench;
using static TorchSharp.torch;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench train</c>: LoRA training tokens/s and the FLOP rate it implies, as a share of this machine's
/// measured fp32 matmul peak.
/// </summary>
internal static class BenchTrainCommand
{
    /// <summary>The efficiency goal for config M: achieved FLOP/s over the measured matmul peak.</summary>
    private const double GoalM = 0.55;

    public static Command Create()
    {
        var config = BenchCommand.Config("S");
        var steps = new Option<int?>("--steps") { Description = "timed optimiser steps after one warm-up step (default: S 10, M 3)" };
        var peakOption = new Option<double?>("--peak-gflops") { Description = "matmul peak to compare with, GFLOP/s (default: measure it after training)" };
        var command = new Command("train", "LoRA r=8 (all linear layers) training throughput on synthetic batches.") { config, steps, peakOption };
        command.SetAction(parse =>
        {
            var bench = BenchModel.Parse(parse.GetValue(config)!);
            var timedSteps = parse.GetValue(steps) ?? (bench.Name == "M" ? 3 : 10);
            if (timedSteps < 1) throw new ArgumentException("--steps must be ≥ 1.");
            var flops = TrainingFlopCount.For(bench, TrainingBench.LoraRank);
            System.Console.WriteLine(BenchMachine.Describe());
            var load = MachineLoadMonitor.Start();
            System.Console.WriteLine(bench);
            System.Console.WriteLine($"LoRA r={TrainingBench.LoraRank} on q,k,v,o,gate,up,down; {flops}");

            var result = TrainingBench.Run(bench, timedSteps);
            var peakRss = ProcessMemory.PeakRss;
            System.Console.WriteLine($"  step 1 (warm-up, not timed) {result.WarmupSeconds,7:F2} s  loss {result.Losses[0]:F4}");
            for (var i = 0; i < result.StepSeconds.Count; i++)
                System.Console.WriteLine($"  step {i + 2,-21} {result.StepSeconds[i],7:F2} s  loss {result.Losses[i + 1]:F4}  {result.TokensPerStep / result.StepSeconds[i],7:F0} tok/s");

            var peak = parse.GetValue(peakOption) is { } given
                ? (Gflops: given, Label: "given")
                : MeasurePeak(bench);
            var achieved = result.TokensPerSecond * flops.Total / 1e9;
            var share = achieved / peak.Gflops;
            var goal = bench.Name == "M" ? $" (goal ≥ {GoalM:P0}: {(share >= GoalM ? "met" : "missed")})" : "";
            System.Console.WriteLine($"throughput: {result.TokensPerSecond:F0} tokens/s over {result.StepSeconds.Count} steps; achieved {achieved:F1} GFLOP/s " +
                                     $"= {share:P0} of the measured matmul peak {peak.Gflops:F1} GFLOP/s ({peak.Label}){goal}");
            System.Console.WriteLine($"peak RSS: {ProcessMemory.Mib(peakRss)} (VmHWM after training)");
            System.Console.WriteLine(load.Describe());
            System.Console.WriteLine($"summary: config {bench.Name} LoRA r=8 train {result.TokensPerSecond:F0} tok/s, {achieved:F1} GFLOP/s = {share:P0} of " +
                                     $"{peak.Gflops:F0} GFLOP/s matmul peak; peak RSS {ProcessMemory.Mib(peakRss)}; {get_num_threads()} threads, {BenchMachine.Allocator}");
            return 0;
        });
        return command;
    }

    private static (double Gflops, string Label) MeasurePeak(BenchModel bench)
    {
        var results = MatmulProbe.MeasureAll(MatmulProbe.SquareShapes.Concat(MatmulProbe.ModelShapes(bench)), minSeconds: 0.3);
        var peak = MatmulProbe.Peak(results);
        return (peak.GflopsPerSecond, peak.Shape.Label);
    }
}
