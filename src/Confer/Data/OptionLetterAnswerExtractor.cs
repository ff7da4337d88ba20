using System.Text.RegularExpressions;

namespace Confer.Data;

/// <summary>Multiple-choice answers. See <see cref="AnswerExtractor.OptionLetter"/>.</summary>
internal sealed partial class OptionLetterAnswerExtractor : AnswerExtractor
{
    /// <summary>Letters accepted when the record does not say how many options there are.</summary>
    private const int DefaultOptionCount = 5;

    // "answer is (B)", "Answer: B", "answer is option C". Only capital letters: a lone "a" is an article.
    [GeneratedRegex(@"(?i:answer)(?:\s+(?i:is))?\s*[:\-]?\s*(?:(?i:option)\s*)?\(?([A-Z])\b")]
    private static partial Regex AfterMarker();

    // The output starts with the letter: "B", "B.", "(B)", "B) text", "C: text". Not "A lesion…".
    [GeneratedRegex(@"^\s*\(?([A-Z])(?:[\).:]|\s*$)")]
    private static partial Regex Leading();

    [GeneratedRegex(@"\(([A-Z])\)")]
    private static partial Regex Parenthesised();

    public override string? Extract(string generated, QaRecord? record = null)
    {
        ArgumentNullException.ThrowIfNull(generated);
        var count = record?.Options?.Length ?? DefaultOptionCount;
        bool Valid(string letter) => letter[0] - 'A' < count;

        var marked = AfterMarker().Matches(generated).Select(m => m.Groups[1].Value).Where(Valid).LastOrDefault();
        if (marked is not null) return marked;
        if (Leading().Match(generated) is { Success: true } lead && Valid(lead.Groups[1].Value)) return lead.Groups[1].Value;
        var bracketed = Parenthesised().Matches(generated).Select(m => m.Groups[1].Value).Where(Valid).LastOrDefault();
        if (bracketed is not null) return bracketed;
        return record?.Options is { } options ? ByOptionText(generated, options) : null;
    }

    public override string Normalize(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        return answer.Trim().Trim('(', ')', '.', ':').Trim().ToUpperInvariant();
    }

    /// <summary>The letter of the only option whose text the output quotes; null when none or several match.</summary>
    private static string? ByOptionText(string generated, string[] options)
    {
        var hits = options.Select((text, i) => (text, i))
            .Where(o => o.text.Trim().Length > 0 && generated.Contains(o.text.Trim().TrimEnd('.'), StringComparison.OrdinalIgnoreCase))
            .ToList();
        return hits.Count == 1 ? QaRecord.OptionLetter(hits[0].i) : null;
    }
}
