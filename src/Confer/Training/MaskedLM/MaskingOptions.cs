using Confer.Tokenizers;

namespace Confer.Training.MaskedLM;

/// <summary>
/// What masked-LM corruption needs to know about the vocabulary: the [MASK] id and the special tokens that are never
/// chosen for prediction ([CLS], [SEP], [PAD], [UNK], [MASK]), plus the share of tokens chosen (BERT: 15%).
/// </summary>
/// <param name="MaskTokenId">Id written over 80% of the chosen tokens.</param>
/// <param name="SpecialTokenIds">Ids never chosen.</param>
/// <param name="Probability">Chance that a non-special token is chosen.</param>
public sealed record MaskingOptions(int MaskTokenId, IReadOnlyList<int> SpecialTokenIds, double Probability = 0.15)
{
    /// <summary>The options for a WordPiece (BERT) tokenizer; its [MASK], [CLS], [SEP] must exist.</summary>
    /// <exception cref="InvalidOperationException">The tokenizer has no [MASK], [CLS] or [SEP] token (not a BERT vocabulary).</exception>
    public static MaskingOptions FromTokenizer(TextTokenizer tokenizer, double probability = 0.15)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        static InvalidOperationException Missing(string token) =>
            new($"The tokenizer has no {token} token, so it cannot be used for masked-LM training: pass a BERT (WordPiece vocab.txt) tokenizer folder.");
        var mask = tokenizer.MaskId ?? throw Missing("[MASK]");
        var cls = tokenizer.ClsId ?? throw Missing("[CLS]");
        var sep = tokenizer.SepId ?? throw Missing("[SEP]");
        int?[] optional = [tokenizer.PadId, tokenizer.UnkId];
        var specials = new[] { cls, sep, mask }.Concat(optional.Where(id => id is not null).Select(id => id!.Value)).Distinct().ToArray();
        return new MaskingOptions(mask, specials, probability);
    }

    /// <summary>Throws <see cref="ArgumentException"/> when an id is outside the vocabulary or the probability is not in (0, 1].</summary>
    public void Validate(int vocabSize)
    {
        if (Probability is not (> 0 and <= 1))
            throw new ArgumentException($"MaskingOptions.Probability {Probability} must be in (0, 1].", nameof(Probability));
        if (MaskTokenId < 0 || MaskTokenId >= vocabSize)
            throw new ArgumentException($"MaskingOptions.MaskTokenId {MaskTokenId} is outside the model's vocabulary of {vocabSize}: the tokenizer does not match the model config.", nameof(MaskTokenId));
        if (SpecialTokenIds.FirstOrDefault(id => id < 0 || id >= vocabSize, -1) is var bad and >= 0)
            throw new ArgumentException($"MaskingOptions.SpecialTokenIds contains {bad}, outside the model's vocabulary of {vocabSize}.", nameof(SpecialTokenIds));
    }
}
