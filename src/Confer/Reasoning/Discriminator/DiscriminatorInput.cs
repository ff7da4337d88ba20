using Confer.Data;
using Confer.Reasoning.Candidates;
using Confer.Tokenizers;

namespace Confer.Reasoning.Discriminator;

/// <summary>One candidate as the discriminator reads it: token ids, segment ids and its label.</summary>
/// <param name="Ids"><c>[CLS] question [SEP] reasoning [SEP] answer [SEP]</c>.</param>
/// <param name="TypeIds">0 for <c>[CLS]</c>, the question and its <c>[SEP]</c>; 1 for the reasoning, the answer and their separators.</param>
/// <param name="Label">1 when the candidate's answer is correct.</param>
public sealed record DiscriminatorExample(int[] Ids, int[] TypeIds, float Label);

/// <summary>
/// Turns (question, reasoning path, answer) into the discriminator's input, <c>[CLS] q [SEP] r [SEP] a [SEP]</c>, at
/// most <see cref="MaxLength"/> tokens. When too long the reasoning is shortened first, from its start (its end, where
/// the chain reaches the answer, is kept); then the question, also from its start (its end holds the actual ask and
/// the options); the answer last. [D] algorithms.md §3 fixes only "rationale first".
/// </summary>
public sealed class DiscriminatorInput
{
    private readonly TextTokenizer _tokenizer;
    private readonly int _cls;
    private readonly int _sep;

    /// <exception cref="InvalidOperationException">The tokenizer has no [CLS]/[SEP] (not a BERT vocabulary).</exception>
    public DiscriminatorInput(TextTokenizer tokenizer, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (maxLength < 5) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "The input needs room for 4 special tokens and at least one more.");
        _tokenizer = tokenizer;
        _cls = tokenizer.ClsId ?? throw new InvalidOperationException("The discriminator's tokenizer has no [CLS] token: use a BERT (WordPiece vocab.txt) encoder folder.");
        _sep = tokenizer.SepId ?? throw new InvalidOperationException("The discriminator's tokenizer has no [SEP] token: use a BERT (WordPiece vocab.txt) encoder folder.");
        MaxLength = maxLength;
    }

    public int MaxLength { get; }

    /// <summary>The input for <paramref name="candidate"/> of <paramref name="question"/>, labelled.</summary>
    public DiscriminatorExample Encode(QaRecord question, Candidate candidate) =>
        Encode(question.FormatWithOptions(), candidate.Text, AnswerText(question, candidate.Answer), candidate.Correct);

    /// <summary>The input for raw texts.</summary>
    public DiscriminatorExample Encode(string question, string reasoning, string answer, bool label)
    {
        var q = _tokenizer.Encode(question).ToList();
        var r = _tokenizer.Encode(reasoning).ToList();
        var a = _tokenizer.Encode(answer).ToList();
        var excess = q.Count + r.Count + a.Count + 4 - MaxLength;
        foreach (var segment in new[] { r, q, a })
        {
            if (excess <= 0) break;
            var cut = Math.Min(excess, segment.Count);
            segment.RemoveRange(0, cut);
            excess -= cut;
        }
        var ids = new List<int>(MaxLength) { _cls };
        ids.AddRange(q);
        ids.Add(_sep);
        var firstSegment = ids.Count;
        ids.AddRange(r);
        ids.Add(_sep);
        ids.AddRange(a);
        ids.Add(_sep);
        var types = new int[ids.Count];
        types.AsSpan(firstSegment).Fill(1);
        return new DiscriminatorExample([.. ids], types, label ? 1f : 0f);
    }

    /// <summary>
    /// The answer as the discriminator reads it: a multiple-choice letter with its option text (<c>B. Aspirin</c>),
    /// otherwise the normalised answer; empty when none could be read.
    /// </summary>
    public static string AnswerText(QaRecord question, string? answer)
    {
        if (answer is null) return "";
        if (question.Options is { } options && answer.Length == 1 && answer[0] - 'A' is var k && k >= 0 && k < options.Length)
            return $"{answer}. {options[k]}";
        return answer;
    }
}
