using Confer.Models.Bert;
using Confer.Reasoning.Selection;
using static TorchSharp.torch;

namespace Confer.Reasoning.Discriminator;

/// <summary>A discriminator on a set of questions: selection accuracy (best-of-K by its scores) and its mean BCE per candidate.</summary>
/// <param name="Questions">Questions scored.</param>
/// <param name="Correct">Questions whose selected candidate is correct.</param>
/// <param name="Candidates">Candidates scored.</param>
/// <param name="MeanBce">Plain BCE (no positive weight) averaged over the candidates.</param>
public sealed record DiscriminatorReport(int Questions, int Correct, int Candidates, double MeanBce)
{
    public double Accuracy => Questions == 0 ? 0 : (double)Correct / Questions;

    /// <summary>Scores every candidate of <paramref name="questions"/> with <paramref name="model"/> and selects the best of each question's K.</summary>
    public static DiscriminatorReport Of(BertForSequenceClassification model, IReadOnlyList<EncodedQuestion> questions, int batchSize, long padId)
    {
        var inputs = questions.SelectMany(q => q.Inputs).ToList();
        var logits = DiscriminatorScorer.Logits(model, inputs, batchSize, padId);
        var correct = CandidateSelection.CorrectBestOfK([.. questions.Select(q => q.Candidates)], [.. logits.Select(z => (double)z)]);
        return new DiscriminatorReport(questions.Count, correct, inputs.Count, PlainBce(logits, inputs.Select(e => e.Label).ToArray()));
    }

    private static double PlainBce(float[] logits, float[] labels)
    {
        if (logits.Length == 0) return 0;
        using var z = tensor(logits);
        using var y = tensor(labels);
        using var loss = nn.functional.binary_cross_entropy_with_logits(z, y);
        return loss.item<float>();
    }
}
