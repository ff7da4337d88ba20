using static TorchSharp.torch;

namespace Confer.Training.Generation;

/// <summary>Chooses the next token from last-position logits [batch, vocab]: greedy, or temperature/top-k/top-p sampling.</summary>
internal sealed class TokenSampler
{
    private readonly GenerationOptions _options;
    private readonly Generator? _generator;
    private readonly Generator[]? _rowGenerators;

    public TokenSampler(GenerationOptions options)
    {
        _options = options;
        if (options.Temperature <= 0) return;
        if (options.RowSeeds is { } seeds) _rowGenerators = [.. seeds.Select(s => new Generator((ulong)s))];
        else _generator = new Generator((ulong)options.Seed);
    }

    public Tensor Next(Tensor logits)
    {
        if (_generator is null && _rowGenerators is null) return logits.argmax(-1);
        var scaled = logits.to_type(ScalarType.Float32) / _options.Temperature;
        if (_options.TopK > 0 && _options.TopK < scaled.shape[^1])
        {
            var kth = scaled.topk(_options.TopK, dim: -1).values.narrow(-1, _options.TopK - 1, 1);
            scaled = scaled.masked_fill(scaled.lt(kth), float.NegativeInfinity);
        }
        if (_options.TopP < 1.0)
        {
            var (sorted, order) = scaled.sort(-1, descending: true);
            var probs = sorted.softmax(-1);
            // Drop a token when the mass before it already reaches top_p; the most likely token always stays.
            var drop = (probs.cumsum(-1) - probs).gt(_options.TopP);
            var dropInVocabOrder = zeros_like(drop).scatter(-1, order, drop);
            scaled = scaled.masked_fill(dropInVocabOrder, float.NegativeInfinity);
        }
        var distribution = scaled.softmax(-1);
        if (_rowGenerators is null) return multinomial(distribution, 1, generator: _generator).squeeze(-1);
        if (_rowGenerators.Length != distribution.shape[0])
            throw new ArgumentException($"RowSeeds has {_rowGenerators.Length} seeds for a batch of {distribution.shape[0]} prompts.");
        // Each row draws from its own generator with the same [1, vocab] call a batch of one makes, so it consumes
        // its stream exactly as that batch of one would.
        return cat([.. _rowGenerators.Select((g, b) => multinomial(distribution.narrow(0, b, 1), 1, generator: g))], 0).squeeze(-1);
    }
}
