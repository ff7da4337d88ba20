using static TorchSharp.torch;

namespace Confer.Training.Generation;

/// <summary>
/// transformers' <c>RepetitionPenaltyLogitsProcessor</c> (CTRL, Keskar et al. 2019): the logit of every token already in
/// the sequence — prompt included, padding too, as in transformers — is divided by the penalty when positive and
/// multiplied by it when negative, before temperature and top-k/top-p.
/// </summary>
internal static class RepetitionPenalty
{
    /// <param name="logits">[batch, vocab] logits of the next position.</param>
    /// <param name="sequence">[batch, length] ids so far.</param>
    /// <param name="penalty">&gt; 1 discourages repeats; 1 changes nothing.</param>
    public static Tensor Apply(Tensor logits, Tensor sequence, double penalty)
    {
        var seen = logits.gather(1, sequence);
        var penalized = where(seen.lt(0), seen * penalty, seen / penalty);
        return logits.scatter(1, sequence, penalized);
    }
}
