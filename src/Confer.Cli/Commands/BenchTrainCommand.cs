using System.CommandLine;
using Confer.Cli.Commands.Bench;
using Confer.Data;
using static TorchSharp.torch;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench train</c>: LoRA training throughput on synthetic batches or on real instruction data, the FLOP rate
/// the trained tokens needed, as a share of this machine's measured fp32 matmul peak, and peak memory.
/// </summary>
internal static class BenchTrainCommand
{
    /// <summary>The efficiency goal for config M: achieved FLOP/s over the measured matmul peak.</summary>
    private const double GoalM = 0.55;

    public static Command Create()
    {
        var config = BenchCommand.Config("S");
        var steps = new Option<int?>("--steps") { Description = "timed optimiser steps after one warm-up step (default: S 10, M 3; 10 with --data)" };
        var peakOption = new Option<double?>("--peak-gflops") { Description = "matmul peak to compare with, GFLOP/s (default: measure it after training)" };
        var data = new Option<string?>("--data") { Description = "instruction data (JSON/JSON Lines file, or a folder of .json files, e.g. data/dolly-15k/shepherd-10clients) instead of synthetic batches" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer folder for --data (config M: ../shared/data/tokenizers/llama2)" };
        var template = new Option<string>("--template") { Description = "prompt template for --data, as confer simulate's template key", DefaultValueFactory = _ => "alpaca" };
        var cutoff = new Option<int>("--cutoff") { Description = "max tokens per example for --data (Shepherd's cutoff_len)", DefaultValueFactory = _ => 512 };
        var grouped = new Option<bool>("--group-by-length") { Description = "length-grouped batches (as Hugging Face's group_by_length) to cut padding" };
        var packing = new Option<bool>("--packing") { Description = "pack each micro-batch's examples into as few rows as hold them (block-diagonal causal mask, positions restart per example; same losses as unpacked)" };
        var checkpoint = new Option<bool>("--checkpoint-activations") { Description = "activation checkpointing: recompute each decoder layer in backward instead of keeping its activations (less memory, more compute)" };
        var bf16 = new Option<bool>("--bf16") { Description = "mixed precision as Hugging Face's bf16=True: products with frozen weights in bfloat16, the rest fp32 (fast on CPUs with AVX512-BF16/AMX)" };
        var fullLogits = new Option<bool>("--full-logits") { Description = "train through the plain path (logits at every position) to compare with the label-only output layer" };
        var command = new Command("train", "LoRA r=8 (all linear layers) training throughput on synthetic batches or real instruction data.")
        {
            config, steps, peakOption, data, tokenizer, template, cutoff, grouped, packing, checkpoint, bf16, fullLogits,
        };
        command.SetAction(parse =>
        {
            var bench = BenchModel.Parse(parse.GetValue(config)!);
            var dataPath = parse.GetValue(data);
            var timedSteps = parse.GetValue(steps) ?? (dataPath is not null ? 10 : bench.Name == "M" ? 3 : 10);
            if (timedSteps < 1) throw new ArgumentException("--steps must be ≥ 1.");
            var count = (timedSteps + 1) * bench.Batch;
            var flops = TrainingFlopCount.For(bench, TrainingBench.LoraRank);
            System.Console.WriteLine(BenchMachine.Describe());
            var load = MachineLoadMonitor.Start();
            System.Console.WriteLine(bench);
            System.Console.WriteLine($"LoRA r={TrainingBench.LoraRank} on q,k,v,o,gate,up,down; {flops}");

            IReadOnlyList<TokenizedExample> examples;
            long padId = 0;
            string source;
            if (dataPath is null)
            {
                examples = SyntheticData.TrainingExamples(count, bench.Sequence, bench.Config.VocabSize, seed: 42);
                source = "synthetic";
            }
            else
            {
                var tokenizerFolder = parse.GetValue(tokenizer) ?? throw new ArgumentException("--data needs --tokenizer (the folder of a tokenizer whose vocabulary fits the model, e.g. ../shared/data/tokenizers/llama2).");
                var real = InstructionBenchData.Load(dataPath, tokenizerFolder, parse.GetValue(template)!, parse.GetValue(cutoff), count, bench.Config.VocabSize, seed: 42);
                examples = real.Examples;
                padId = real.PadTokenId;
                source = $"real data ({Path.GetFileName(Path.TrimEndingDirectorySeparator(dataPath))})";
                System.Console.WriteLine($"data: {real.Records} records → {real.Encoded} examples ({real.Truncated} truncated at {parse.GetValue(cutoff)}), " +
                                         $"{count} drawn with seed 42; template {parse.GetValue(template)}, labels on the response only");
            }
            var useBf16 = parse.GetValue(bf16);
            var path = parse.GetValue(fullLogits) ? "full logits" : "label-only output layer";
            if (parse.GetValue(grouped)) path += ", length-grouped batches";
            if (parse.GetValue(packing)) path += ", packed rows";
            if (parse.GetValue(checkpoint)) path += ", activation checkpointing";
            if (useBf16) path += ", bf16 frozen-weight products";
            System.Console.WriteLine($"loss path: {path}");
            if (useBf16 && Models.LowPrecisionMatmuls.HardwareNote() is { } slow) System.Console.WriteLine($"note: {slow}");

            var result = TrainingBench.Run(bench, examples, parse.GetValue(fullLogits), padId, parse.GetValue(grouped), parse.GetValue(packing), parse.GetValue(checkpoint), useBf16);
            var peakRss = ProcessMemory.PeakRss;
            System.Console.WriteLine($"  step 1 (warm-up, not timed) {result.WarmupSeconds,7:F2} s  loss {result.Losses[0]:F4}");
            for (var i = 0; i < result.StepSeconds.Count; i++)
            {
                var s = result.Steps[i + 1];
                System.Console.WriteLine($"  step {i + 2,-21} {result.StepSeconds[i],7:F2} s  loss {result.Losses[i + 1]:F4}  {s.RealTokens / result.StepSeconds[i],7:F0} tok/s  " +
                                         $"(batch {s.PaddedTokens} positions, {s.RealTokens} real, {s.Targets} labelled)");
            }

            var peak = parse.GetValue(peakOption) is { } given
                ? (Gflops: given, Label: "given")
                : MeasurePeak(bench);
            var seconds = result.StepSeconds.Sum();
            var achieved = result.Timed.Sum(s => flops.Needed(s, bench)) / seconds / 1e9;
            var share = achieved / peak.Gflops;
            // The goal and the peak are fp32's; with --bf16 the share only compares with what fp32 could have done.
            var goal = bench.Name == "M" && dataPath is null && !useBf16 ? $" (goal ≥ {GoalM:P0}: {(share >= GoalM ? "met" : "missed")})" : "";
            var peakType = useBf16 ? "fp32 " : "";
            System.Console.WriteLine($"throughput: {result.TokensPerSecond:F0} useful (non-pad) tokens/s over {result.StepSeconds.Count} steps; pad fraction {result.PadFraction:P1}, " +
                                     $"labelled fraction {result.LabelledFraction:P1}");
            System.Console.WriteLine($"work needed: {achieved:F1} GFLOP/s (real tokens, attention at each example's length, lm_head at labels only) " +
                                     $"= {share:P0} of the measured {peakType}matmul peak {peak.Gflops:F1} GFLOP/s ({peak.Label}){goal}");
            System.Console.WriteLine($"peak RSS: {ProcessMemory.Mib(peakRss)} (VmHWM after training)");
            System.Console.WriteLine(load.Describe());
            System.Console.WriteLine($"summary: config {bench.Name} LoRA r=8 train, {source}, {path}: {result.TokensPerSecond:F0} useful tok/s, pad {result.PadFraction:P1}, " +
                                     $"labelled {result.LabelledFraction:P1}, {achieved:F1} GFLOP/s needed = {share:P0} of {peak.Gflops:F0} GFLOP/s {peakType}matmul peak; " +
                                     $"peak RSS {ProcessMemory.Mib(peakRss)}; {get_num_threads()} threads, {BenchMachine.Allocator}");
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
