using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Training.MaskedLM;

/// <summary>
/// BERT's masked-LM corruption: each non-special token is chosen with <see cref="MaskingOptions.Probability"/>; a
/// chosen token becomes [MASK] 80% of the time, a uniformly random vocabulary token 10%, and stays unchanged 10%.
/// Labels hold the original id at chosen positions and <see cref="IgnoreIndex"/> elsewhere. All draws come from an own
/// seeded torch generator, so the same seed corrupts the same batches the same way, independent of model init or dropout.
/// </summary>
internal sealed class TokenMasker : IDisposable
{
    /// <summary>Label of positions that carry no loss (torch's cross-entropy default ignore index).</summary>
    public const long IgnoreIndex = -100;

    private readonly MaskingOptions _options;
    private readonly int _vocabSize;
    private readonly Generator _generator;

    public TokenMasker(MaskingOptions options, int vocabSize, long seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(vocabSize);
        _options = options;
        _vocabSize = vocabSize;
        _generator = new Generator(unchecked((ulong)seed));
    }

    /// <summary>Corrupts <paramref name="ids"/> (int64 [batch, seq], CPU); returns new tensors, the input is unchanged.</summary>
    public (Tensor InputIds, Tensor Labels) Mask(Tensor ids)
    {
        var special = zeros_like(ids, dtype: ScalarType.Bool);
        foreach (var id in _options.SpecialTokenIds) special = special.logical_or(ids.eq(id));
        var chosen = rand(ids.shape, generator: _generator).lt(_options.Probability).logical_and(special.logical_not());
        var labels = ids.masked_fill(chosen.logical_not(), IgnoreIndex);

        var draw = rand(ids.shape, generator: _generator);
        var toMask = chosen.logical_and(draw.lt(0.8));
        var toRandom = chosen.logical_and(draw.ge(0.8)).logical_and(draw.lt(0.9));
        var random = randint(0, _vocabSize, ids.shape, generator: _generator, dtype: ScalarType.Int64);
        var inputs = torch.where(toRandom, random, ids.masked_fill(toMask, _options.MaskTokenId));
        return (inputs, labels);
    }

    public void Dispose() => _generator.Dispose();
}
