using Confer.Models;
using Confer.Models.Llama;
using static TorchSharp.torch;

namespace Confer.Training.Generation;

/// <summary>
/// Autoregressive decoding over token ids for a batch of prompts of different lengths. Prompts are left-padded so the
/// new tokens line up; the attention mask and per-sequence positions make each row decode exactly as it would alone.
/// </summary>
public sealed class TokenGenerator
{
    private readonly LlamaForCausalLM _model;

    public TokenGenerator(LlamaForCausalLM model) => _model = model;

    /// <summary>
    /// Generates up to <c>MaxNewTokens</c> per prompt. A row stops at <paramref name="eosId"/> or any of the options'
    /// <see cref="GenerationOptions.EosTokenIds"/> (not included in the result; chat models have several, e.g. Llama 3's
    /// end of text and end of turn), or when <paramref name="shouldStop"/> says so for its tokens so far.
    /// </summary>
    public IReadOnlyList<int[]> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, int? eosId = null,
        Func<int, IReadOnlyList<int>, bool>? shouldStop = null, int padId = 0)
    {
        options.Validate();
        if (prompts.Count == 0) return [];
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("Every prompt needs at least one token (e.g. BOS).", nameof(prompts));
        var wasTraining = _model.training;
        _model.eval();
        try
        {
            return Decode(prompts, options, [.. options.EosTokenIds ?? [], .. eosId is { } id ? [id] : Array.Empty<int>()], shouldStop, padId);
        }
        finally
        {
            if (wasTraining) _model.train();
        }
    }

    private List<int[]> Decode(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, HashSet<int> eosIds,
        Func<int, IReadOnlyList<int>, bool>? shouldStop, int padId)
    {
        using var noGrad = no_grad();
        var device = _model.parameters().First().device;
        var batch = prompts.Count;
        var width = prompts.Max(p => p.Count);
        var ids = new long[batch * width];
        var mask = new long[batch * width];
        for (var b = 0; b < batch; b++)
        {
            var offset = width - prompts[b].Count;
            for (var t = 0; t < width; t++)
            {
                ids[b * width + t] = t < offset ? padId : prompts[b][t - offset];
                mask[b * width + t] = t < offset ? 0 : 1;
            }
        }
        var padded = prompts.Any(p => p.Count != width);
        var outputs = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToList();
        var done = new bool[batch];
        var sampler = new TokenSampler(options);
        using var cache = options.UseCache ? new KVCache(_model.LayerCount) : null;
        var allIds = tensor(ids, [batch, width], device: device);
        var allMask = tensor(mask, [batch, width], device: device);
        var step = allIds;
        for (var n = 0; n < options.MaxNewTokens && !done.All(d => d); n++)
        {
            using var scope = NewDisposeScope();
            var input = options.UseCache ? step : allIds;
            var logits = _model.forward(new CausalLMInput(input, padded ? allMask : null, cache)).Logits;
            var last = logits.select(1, logits.shape[1] - 1);
            if (options.RepetitionPenalty != 1) last = RepetitionPenalty.Apply(last.to_type(ScalarType.Float32), allIds, options.RepetitionPenalty);
            var next = sampler.Next(last).to(CPU);
            var chosen = next.data<long>().ToArray();
            for (var b = 0; b < batch; b++)
            {
                if (done[b]) continue;
                var token = (int)chosen[b];
                if (eosIds.Contains(token)) { done[b] = true; continue; }
                outputs[b].Add(token);
                if (shouldStop?.Invoke(b, outputs[b]) == true) done[b] = true;
            }
            var nextCol = next.to(device).unsqueeze(1);
            step = nextCol.MoveToOuterDisposeScope();
            allIds = cat([allIds, nextCol], 1).MoveToOuterDisposeScope();
            allMask = cat([allMask, ones(batch, 1, dtype: ScalarType.Int64, device: device)], 1).MoveToOuterDisposeScope();
        }
        return outputs.Select(o => o.ToArray()).ToList();
    }
}
