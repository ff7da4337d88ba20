using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Training.Generation;

/// <summary>
/// Autoregressive decoding over token ids for a batch of prompts of different lengths. Prompts are left-padded so the
/// new tokens line up; the attention mask and per-sequence positions make each row decode exactly as it would alone.
/// </summary>
public sealed class TokenGenerator
{
    private readonly CausalLanguageModel _model;

    public TokenGenerator(CausalLanguageModel model) => _model = model;

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
        using var sequences = new DecodedSequences(tensor(ids, [batch, width], device: device), tensor(mask, [batch, width], device: device));
        for (var n = 0; n < options.MaxNewTokens && !done.All(d => d); n++)
        {
            using var scope = NewDisposeScope();
            var input = options.UseCache ? sequences.Last : sequences.Ids;
            var logits = _model.forward(new CausalLMInput(input, padded ? sequences.Mask : null, cache)).Logits;
            var last = logits.select(1, logits.shape[1] - 1);
            if (options.RepetitionPenalty != 1) last = RepetitionPenalty.Apply(last.to_type(ScalarType.Float32), sequences.Ids, options.RepetitionPenalty);
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
            sequences.Append(next.to(device).unsqueeze(1));
        }
        return outputs.Select(o => o.ToArray()).ToList();
    }

    /// <summary>
    /// The sequences a decode carries from step to step — token ids, attention mask, and the newest tokens (the whole
    /// prompt before the first step) — held outside the per-step dispose scopes. Each step replaces them and frees the
    /// ones it replaced, so however long the generation, three tensors stay alive.
    /// </summary>
    private sealed class DecodedSequences : IDisposable
    {
        public DecodedSequences(Tensor ids, Tensor mask)
        {
            Ids = ids.DetachFromDisposeScope();
            Mask = mask.DetachFromDisposeScope();
            Last = Ids;
        }

        public Tensor Ids { get; private set; }

        public Tensor Mask { get; private set; }

        public Tensor Last { get; private set; }

        /// <summary>Appends one column of tokens ([batch, 1]) and takes ownership of it.</summary>
        public void Append(Tensor column)
        {
            var ids = cat([Ids, column], 1).DetachFromDisposeScope();
            var mask = cat([Mask, ones_like(column)], 1).DetachFromDisposeScope();
            Dispose();
            (Ids, Mask, Last) = (ids, mask, column.DetachFromDisposeScope());
        }

        public void Dispose()
        {
            if (!ReferenceEquals(Last, Ids)) Last.Dispose();
            Ids.Dispose();
            Mask.Dispose();
        }
    }
}
