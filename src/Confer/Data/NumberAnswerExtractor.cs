using System.Globalization;
using System.Text.RegularExpressions;

namespace Confer.Data;

/// <summary>Numeric answers (GSM8K). See <see cref="AnswerExtractor.Number"/>.</summary>
internal sealed partial class NumberAnswerExtractor : AnswerExtractor
{
    // Thousands groups only in threes so "1, 2, 3" stays three numbers; a trailing full stop is not a decimal point.
    [GeneratedRegex(@"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"answer\s+is|answer\s*:", RegexOptions.IgnoreCase)]
    private static partial Regex AnswerMarker();

    public override string? Extract(string generated, QaRecord? record = null)
    {
        ArgumentNullException.ThrowIfNull(generated);
        var hashes = generated.LastIndexOf("####", StringComparison.Ordinal);
        if (hashes >= 0 && NumberPattern().Match(generated, hashes) is { Success: true } afterHashes)
            return Normalize(afterHashes.Value);
        var markers = AnswerMarker().Matches(generated);
        if (markers.Count > 0 && NumberPattern().Match(generated, markers[^1].Index + markers[^1].Length) is { Success: true } afterMarker)
            return Normalize(afterMarker.Value);
        var all = NumberPattern().Matches(generated);
        return all.Count == 0 ? null : Normalize(all[^1].Value);
    }

    public override string Normalize(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var cleaned = answer.Trim().Replace(",", "").Replace("$", "").TrimEnd('.').Trim();
        return decimal.TryParse(cleaned, NumberStyles.Number, CultureInfo.InvariantCulture, out var value)
            ? (value == 0 ? 0m : value).ToString("0.############################", CultureInfo.InvariantCulture)
            : cleaned.ToLowerInvariant();
    }
}
