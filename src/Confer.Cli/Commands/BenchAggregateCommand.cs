using System.CommandLine;
using Confer.Cli.Commands.Bench;
using Confer.Federation;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench aggregate</c>: server aggregation throughput (GB/s of client update bytes consumed) for an M-config
/// r=8 all-linear adapter, against the measured memory bandwidth, and the server memory each selected client costs.
/// The round time is what follows the last update's arrival (<see cref="Strategy.AggregateTrain"/> over updates
/// already admitted); the admission checks each update gets on arrival are timed and printed separately.
/// </summary>
internal static class BenchAggregateCommand
{
    /// <summary>The goal: aggregation consumes client bytes at ≥ 25 % of the measured memory bandwidth.</summary>
    private const double Goal = 0.25;

    public static Command Create()
    {
        var clients = new Option<int>("--clients") { Description = "selected clients per round", DefaultValueFactory = _ => 10 };
        var rounds = new Option<int>("--rounds") { Description = "rounds to run (the first is a warm-up)", DefaultValueFactory = _ => 5 };
        var strategies = new Option<string[]>("--strategy") { Description = "strategies to time (repeatable)", DefaultValueFactory = _ => ["fedavg", "flora"], AllowMultipleArgumentsPerToken = true };
        var command = new Command("aggregate", "Federated aggregation throughput over an M-config LoRA r=8 adapter.") { clients, rounds, strategies };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(clients);
            var r = parse.GetValue(rounds);
            if (n < 1 || r < 2) throw new ArgumentException("--clients must be ≥ 1 and --rounds ≥ 2 (round 1 is a warm-up).");
            System.Console.WriteLine(BenchMachine.Describe());
            var load = MachineLoadMonitor.Start();
            using var adapter = MAdapter();
            System.Console.WriteLine($"adapter: config M, LoRA r={TrainingBench.LoraRank} on all linear layers: {adapter.Count} tensors, " +
                                     $"{adapter.ElementCount:N0} parameters, {adapter.ByteCount / 1e6:F2} MB per client update; {n} clients");
            var bandwidth = MemoryBandwidthProbe.Measure().Max(b => b.GigabytesPerSecond);
            System.Console.WriteLine($"memory bandwidth (best of copy/add, 256 MiB): {bandwidth:F1} GB/s");

            var lines = new List<string>();
            foreach (var name in parse.GetValue(strategies)!)
            {
                var result = AggregationBench.Run(name, adapter, n, r);
                var share = result.GigabytesPerSecond / bandwidth;
                System.Console.WriteLine($"  {name,-8} {result.SecondsPerRound * 1000,8:F1} ms/round (warm-up {result.WarmupSeconds * 1000:F1} ms)  " +
                                         $"{result.GigabytesPerSecond,6:F2} GB/s of updates = {share,4:P0} of bandwidth (goal ≥ {Goal:P0}: {(share >= Goal ? "met" : "missed")}); " +
                                         $"server memory per client: task {ProcessMemory.Mib(result.TaskRssPerClient, 1)} RSS + update {result.UpdateBytesPerClient / 1e6:F2} MB");
                System.Console.WriteLine($"  {"",-8} admission checks as each update arrives (not in the round time above): {result.AdmissionSecondsPerUpdate * 1000:F2} ms per update");
                lines.Add($"{name} {result.GigabytesPerSecond:F2} GB/s ({share:P0})");
            }
            var averaging = AggregationBench.AveragingOnlySeconds(adapter, n, repeats: 3);
            var averagingRate = adapter.ByteCount * (double)n / averaging / 1e9;
            System.Console.WriteLine($"  averaging arithmetic alone (Σ p_k θ_k per tensor, no validation): {averaging * 1000:F1} ms = {averagingRate:F2} GB/s ({averagingRate / bandwidth:P0})");
            var flat = AggregationBench.AveragingOnlySeconds(adapter, n, repeats: 3, flat: true);
            var flatRate = adapter.ByteCount * (double)n / flat / 1e9;
            System.Console.WriteLine($"  averaging arithmetic alone, flat buffers and per-tensor copy-out (what FedAvgM, FedAdam, FedYogi, FedAdagrad and FedProx run; fedavg sums into its global buffer instead, no copy-out): {flat * 1000:F1} ms = {flatRate:F2} GB/s ({flatRate / bandwidth:P0})");
            System.Console.WriteLine(load.Describe());
            System.Console.WriteLine($"summary: aggregation of {n} M-config r=8 updates ({adapter.ByteCount / 1e6:F1} MB each): {string.Join(", ", lines)} " +
                                     $"of {bandwidth:F1} GB/s memory bandwidth; peak RSS {ProcessMemory.Mib(ProcessMemory.PeakRss)}; {get_num_threads()} threads, {BenchMachine.Allocator}");
            return 0;
        });
        return command;
    }

    /// <summary>The adapter a config-M client sends: built on the real model so names and shapes are exact.</summary>
    private static NamedTensors MAdapter()
    {
        manual_seed(42);
        using var model = new LlamaForCausalLM(BenchModel.Parse("M").Config);
        LoraModel.Attach(model, new LoraConfig { Rank = TrainingBench.LoraRank, Alpha = 16, Dropout = 0, TargetModules = [.. LoraConfig.LlamaAllLinear] });
        return LoraModel.Capture(model);
    }
}
