using Confer.Reasoning.Candidates;

namespace Confer.Reasoning.Selection;

/// <summary>
/// How one answer is chosen among a question's K candidates (algorithms.md §3): by a discriminator's scores
/// (FedCoT, local discriminator), by majority vote (self-consistency), or by an oracle (pass@K). Ties always go to the
/// earliest candidate, so every method is deterministic.
/// </summary>
public static class CandidateSelection
{
    /// <summary>j* = argmax_j s_j, the smallest j on ties; a NaN score never wins (it compares false).</summary>
    public static int Best(IReadOnlyList<double> scores)
    {
        if (scores.Count == 0) throw new ArgumentException("No scores to choose from.", nameof(scores));
        var best = 0;
        for (var j = 1; j < scores.Count; j++)
            if (scores[j] > scores[best] || double.IsNaN(scores[best]) && !double.IsNaN(scores[j])) best = j;
        return best;
    }

    /// <summary>
    /// Self-consistency (Wang et al., arXiv 2203.11171): the most frequent extracted answer, ties to the answer that
    /// appears first; candidates without an answer do not vote. Returns the first candidate giving the winning answer,
    /// or 0 when no candidate has an answer.
    /// </summary>
    public static int MajorityVote(IReadOnlyList<Candidate> candidates)
    {
        if (candidates.Count == 0) throw new ArgumentException("No candidates to vote on.", nameof(candidates));
        var votes = new Dictionary<string, (int Count, int First)>(StringComparer.Ordinal);
        for (var j = 0; j < candidates.Count; j++)
        {
            if (candidates[j].Answer is not { } answer) continue;
            votes[answer] = votes.TryGetValue(answer, out var v) ? (v.Count + 1, v.First) : (1, j);
        }
        if (votes.Count == 0) return 0;
        return votes.Values.OrderByDescending(v => v.Count).ThenBy(v => v.First).First().First;
    }

    /// <summary>
    /// How many of <paramref name="questions"/> a scorer answers correctly by best-of-K: <paramref name="scores"/> holds
    /// one score per candidate, question after question, and each question answers with its <see cref="Best"/> candidate.
    /// </summary>
    public static int CorrectBestOfK(IReadOnlyList<QuestionCandidates> questions, IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(questions);
        ArgumentNullException.ThrowIfNull(scores);
        var expected = questions.Sum(q => q.Samples.Count);
        if (scores.Count != expected) throw new ArgumentException($"{scores.Count} scores for {expected} candidates.", nameof(scores));
        var correct = 0;
        var offset = 0;
        foreach (var q in questions)
        {
            if (q.Samples[Best([.. scores.Skip(offset).Take(q.Samples.Count)])].Correct) correct++;
            offset += q.Samples.Count;
        }
        return correct;
    }

    /// <summary>Whether any candidate is correct: what a perfect selector would achieve (pass@K).</summary>
    public static bool AnyCorrect(IReadOnlyList<Candidate> candidates) => candidates.Any(c => c.Correct);
}
