using System.CommandLine;
using Confer.Cli.Commands.Bench;
using Confer.Models.Llama;
using static TorchSharp.torch;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench generate</c>: greedy generation tokens/s with the KV cache at batch 1 and 8, and without the cache
/// for comparison; checks that cached and uncached decoding produce the same tokens.
/// </summary>
internal static class BenchGenerateCommand
{
    public static Command Create()
    {
        var config = BenchCommand.Config("S");
        var newTokens = new Option<int>("--new-tokens") { Description = "tokens generated per prompt", DefaultValueFactory = _ => 128 };
        var promptLength = new Option<int>("--prompt-length") { Description = "tokens per (random) prompt", DefaultValueFactory = _ => 16 };
        var batches = new Option<int[]>("--batch") { Description = "batch sizes to time with the cache (repeatable)", DefaultValueFactory = _ => [1, 8], AllowMultipleArgumentsPerToken = true };
        var noCacheBatch = new Option<int>("--no-cache-batch") { Description = "batch size for the run without cache (0 = skip)", DefaultValueFactory = _ => 1 };
        var command = new Command("generate", "Greedy generation throughput with and without the KV cache.") { config, newTokens, promptLength, batches, noCacheBatch };
        command.SetAction(parse =>
        {
            var bench = BenchModel.Parse(parse.GetValue(config)!);
            var n = parse.GetValue(newTokens);
            var length = parse.GetValue(promptLength);
            if (n < 2 || length < 1) throw new ArgumentException("--new-tokens must be ≥ 2 and --prompt-length ≥ 1.");
            System.Console.WriteLine(BenchMachine.Describe());
            var load = MachineLoadMonitor.Start();
            System.Console.WriteLine(bench with { Batch = 1 });
            manual_seed(42);
            using var model = new LlamaForCausalLM(bench.Config);
            model.eval();
            var sizes = parse.GetValue(batches)!;
            var prompts = SyntheticData.Prompts(Math.Max(sizes.Append(1).Max(), parse.GetValue(noCacheBatch)), length, bench.Config.VocabSize, seed: 7);
            System.Console.WriteLine($"greedy, prompt {length} tokens, {n} new tokens, no EOS:");

            // A short untimed run loads kernels and grows the allocator's pools.
            GenerationBench.Run(model, "warm-up", prompts.Take(1).ToList(), 4, useCache: true);
            var results = sizes.Select(b => GenerationBench.Run(model, $"KV cache, batch {b}", prompts.Take(b).ToList(), n, useCache: true)).ToList();
            foreach (var r in results) Print(r);
            var noCache = parse.GetValue(noCacheBatch) is > 0 and var nb
                ? GenerationBench.Run(model, $"no cache, batch {nb}", prompts.Take(nb).ToList(), n, useCache: false)
                : null;
            if (noCache is not null)
            {
                Print(noCache);
                var cached = results.FirstOrDefault(r => r.Batch == noCache.Batch);
                if (cached is not null)
                    System.Console.WriteLine($"  cached == uncached tokens (batch {noCache.Batch}): {(cached.Tokens.Zip(noCache.Tokens).All(p => p.First.SequenceEqual(p.Second)) ? "yes" : "NO")}");
            }
            var summary = string.Join(", ", results.Select(r => $"batch {r.Batch} {r.TokensPerSecond:F0} tok/s ({r.MillisecondsPerStep:F1} ms/step)"));
            var speedup = noCache is null ? "" : $"; no cache batch {noCache.Batch} {noCache.TokensPerSecond:F0} tok/s";
            System.Console.WriteLine(load.Describe());
            System.Console.WriteLine($"summary: config {bench.Name} greedy {n} new tokens with KV cache: {summary}{speedup}; {get_num_threads()} threads, {BenchMachine.Allocator}");
            return 0;
        });
        return command;
    }

    private static void Print(GenerationBenchResult r) =>
        System.Console.WriteLine($"  {r.Label,-20} prefill {r.PrefillSeconds * 1000,8:F1} ms  decode {r.MillisecondsPerStep,7:F2} ms/step  " +
                                 $"{r.TokensPerSecond,8:F0} tok/s (total {r.TotalSeconds:F2} s)");
}
