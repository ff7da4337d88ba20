using System.Diagnostics;
using Confer.Models.Llama;
using Confer.Training.Generation;

namespace Confer.Cli.Commands.Bench;

/// <summary>Timings of one greedy generation run: prefill (prompt pass plus first token) and the decode steps after it.</summary>
internal sealed record GenerationBenchResult(string Label, int Batch, int NewTokens, double PrefillSeconds, double DecodeSeconds, IReadOnlyList<int[]> Tokens)
{
    public double TotalSeconds => PrefillSeconds + DecodeSeconds;

    /// <summary>Generated tokens per second over the whole call, prefill included.</summary>
    public double TokensPerSecond => Batch * NewTokens / TotalSeconds;

    /// <summary>Milliseconds per decode step after the first token (one new token for every row).</summary>
    public double MillisecondsPerStep => NewTokens > 1 ? DecodeSeconds * 1000 / (NewTokens - 1) : double.NaN;
}

/// <summary>
/// Times <see cref="TokenGenerator"/> on a model: greedy decoding of random prompts with no end-of-sequence token, so
/// every row produces exactly the requested number of tokens. The generator's per-step stop callback timestamps each
/// step, which separates the prompt pass from the incremental decode steps.
/// </summary>
internal static class GenerationBench
{
    public static GenerationBenchResult Run(LlamaForCausalLM model, string label, IReadOnlyList<IReadOnlyList<int>> prompts, int newTokens, bool useCache)
    {
        var generator = new TokenGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = newTokens, UseCache = useCache };
        var stepEnds = new List<double>(newTokens);
        var clock = Stopwatch.StartNew();
        var tokens = generator.Generate(prompts, options, eosId: null, shouldStop: (row, _) =>
        {
            if (row == 0) stepEnds.Add(clock.Elapsed.TotalSeconds);
            return false;
        });
        var end = clock.Elapsed.TotalSeconds;
        var prefill = stepEnds.Count > 0 ? stepEnds[0] : end;
        return new GenerationBenchResult(label, prompts.Count, newTokens, prefill, end - prefill, tokens);
    }
}
