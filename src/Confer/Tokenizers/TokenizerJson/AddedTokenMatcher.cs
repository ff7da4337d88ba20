using System.Buffers;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// Splits text at added tokens the way Hugging Face's added vocabulary does: the leftmost match wins and, among
/// matches at the same place, the longest; the text between matches is handed on to normalisation and pre-tokenising.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;
    private readonly SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        _firstChars = SearchValues.Create([.. _byFirstChar.Keys]);
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Calls <paramref name="onText"/> for each stretch of plain text and <paramref name="onToken"/> for each match, in order.</summary>
    public void Split(string text, Action<string> onText, Action<AddedToken> onToken)
    {
        if (IsEmpty)
        {
            if (text.Length > 0) onText(text);
            return;
        }
        int plainStart = 0, at = 0;
        while (at < text.Length)
        {
            int next = text.AsSpan(at).IndexOfAny(_firstChars);
            if (next < 0) break;
            at += next;
            var match = Longest(text, at);
            if (match is null)
            {
                at++;
                continue;
            }
            int start = at, end = at + match.Content.Length;
            if (match.LStrip) while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (match.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > plainStart) onText(text[plainStart..start]);
            onToken(match);
            plainStart = at = end;
        }
        if (plainStart < text.Length) onText(text[plainStart..]);
    }

    private AddedToken? Longest(string text, int at)
    {
        foreach (var token in _byFirstChar[text[at]])
            if (text.AsSpan(at).StartsWith(token.Content, StringComparison.Ordinal)) return token;
        return null;
    }
}
