using Confer.Reasoning.Candidates;

namespace Confer.Reasoning.Discriminator;

/// <summary>A question's candidates with their discriminator inputs, for scoring and selection.</summary>
public sealed record EncodedQuestion(QuestionCandidates Candidates, IReadOnlyList<DiscriminatorExample> Inputs);

/// <summary>
/// One client's discriminator data, built from its own candidates and never sent anywhere: every training candidate as
/// a labelled input, and the test questions with their K encoded candidates.
/// </summary>
public sealed record DiscriminatorData(string Id, IReadOnlyList<DiscriminatorExample> Train, IReadOnlyList<EncodedQuestion> Test)
{
    public static DiscriminatorData Encode(string id, IReadOnlyList<QuestionCandidates> train, IReadOnlyList<QuestionCandidates> test, DiscriminatorInput input) =>
        new(id, [.. train.SelectMany(q => q.Samples.Select(c => input.Encode(q.Question, c)))], EncodeQuestions(test, input));

    public static IReadOnlyList<EncodedQuestion> EncodeQuestions(IReadOnlyList<QuestionCandidates> questions, DiscriminatorInput input) =>
        [.. questions.Select(q => new EncodedQuestion(q, [.. q.Samples.Select(c => input.Encode(q.Question, c))]))];

    /// <summary>N_neg / N_pos of the training candidates (1 when either class is missing), the balancing pos_weight.</summary>
    public double BalancingPosWeight()
    {
        var positives = Train.Count(e => e.Label > 0.5f);
        var negatives = Train.Count - positives;
        return positives == 0 || negatives == 0 ? 1.0 : (double)negatives / positives;
    }
}
