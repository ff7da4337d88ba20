using System.Text.RegularExpressions;

namespace Confer.Data;

/// <summary>Yes/no/maybe answers. See <see cref="AnswerExtractor.YesNoMaybe"/>.</summary>
internal sealed partial class YesNoMaybeAnswerExtractor : AnswerExtractor
{
    [GeneratedRegex(@"\b(yes|no|maybe)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Word();

    [GeneratedRegex(@"answer\s+is|answer\s*:", RegexOptions.IgnoreCase)]
    private static partial Regex AnswerMarker();

    /// <summary>The first yes/no/maybe after the last "answer is"/"answer:", else the first one in the text.</summary>
    public override string? Extract(string generated, QaRecord? record = null)
    {
        ArgumentNullException.ThrowIfNull(generated);
        var markers = AnswerMarker().Matches(generated);
        if (markers.Count > 0 && Word().Match(generated, markers[^1].Index + markers[^1].Length) is { Success: true } afterMarker)
            return Normalize(afterMarker.Value);
        var first = Word().Match(generated);
        return first.Success ? Normalize(first.Value) : null;
    }

    public override string Normalize(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        return answer.Trim().TrimEnd('.', '!', ',').Trim().ToLowerInvariant();
    }
}
