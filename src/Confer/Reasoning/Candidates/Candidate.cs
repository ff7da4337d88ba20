using Confer.Data;

namespace Confer.Reasoning.Candidates;

/// <summary>One reasoning path the actor wrote for a question, with the answer read from it and its label.</summary>
/// <param name="Text">The completion as generated: the rationale, ending with the answer sentence.</param>
/// <param name="Answer">The normalised answer extracted from <paramref name="Text"/>; null when none could be read.</param>
/// <param name="Correct">The label: the answer equals the gold answer (an unreadable answer is wrong).</param>
public sealed record Candidate(string Text, string? Answer, bool Correct)
{
    /// <summary>Reads the answer from <paramref name="text"/> with the extractor for <paramref name="question"/> and labels it against the gold answer.</summary>
    public static Candidate Label(QaRecord question, string text)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(text);
        var extractor = AnswerExtractor.For(question);
        var answer = extractor.Extract(text, question);
        return new Candidate(text, answer, answer is not null && answer == extractor.Normalize(question.Answer));
    }
}

/// <summary>The candidates of one question: K samples for selection, and the greedy completion (the CoT baseline) when it was generated.</summary>
public sealed record QuestionCandidates(QaRecord Question, IReadOnlyList<Candidate> Samples, Candidate? Greedy)
{
    /// <summary>Labels raw completions (see <see cref="Candidate.Label"/>).</summary>
    public static QuestionCandidates Label(QaRecord question, IReadOnlyList<string> samples, string? greedy) =>
        new(question, [.. samples.Select(s => Candidate.Label(question, s))], greedy is null ? null : Candidate.Label(question, greedy));
}
