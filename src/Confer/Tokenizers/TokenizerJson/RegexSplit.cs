using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// Hugging Face's <c>Split</c> pre-tokenizer with behaviour <c>Isolated</c> (every match and every gap is a piece) or
/// <c>Removed</c> (matches are dropped). Hugging Face matches code points; .NET's regex matches UTF-16 units, where a
/// letter outside the BMP (e.g. CJK Extension B) is two surrogates that are neither <c>\p{L}</c> nor <c>\p{N}</c>.
/// So text with surrogates is matched on a shadow string with one stand-in character of the same class per code point.
/// </summary>
internal sealed class RegexSplit
{
    private const char LetterStandIn = '\u4E00';
    private const char NumberStandIn = '\u0660';
    private const char OtherStandIn = '\uFFFD';

    private readonly Regex _regex;
    private readonly bool _keepMatches;

    public RegexSplit(Regex regex, bool keepMatches)
    {
        _regex = regex;
        _keepMatches = keepMatches;
    }

    public void Split(string piece, List<string> output)
    {
        bool astral = piece.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF');
        var (shadow, map) = astral ? Shadow(piece) : (piece, null);
        int last = 0;
        foreach (var match in _regex.EnumerateMatches(shadow))
        {
            if (match.Length == 0) continue;
            int start = map?[match.Index] ?? match.Index;
            int end = map?[match.Index + match.Length] ?? match.Index + match.Length;
            if (start > last) output.Add(piece[last..start]);
            if (_keepMatches) output.Add(piece[start..end]);
            last = end;
        }
        if (last < piece.Length) output.Add(piece[last..]);
    }

    /// <summary>One character per code point, and for each shadow index (and the end) the index in the original.</summary>
    private static (string Shadow, int[] Map) Shadow(string text)
    {
        var shadow = new StringBuilder(text.Length);
        var map = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            map.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var category = Rune.GetUnicodeCategory(new Rune(text[i], text[i + 1]));
                shadow.Append(category switch
                {
                    UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                        or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => LetterStandIn,
                    UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => NumberStandIn,
                    _ => OtherStandIn,
                });
                i++;
            }
            else shadow.Append(text[i]);
        }
        map.Add(text.Length);
        return (shadow.ToString(), map.ToArray());
    }
}
