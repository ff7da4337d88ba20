using System.Globalization;
using System.Text;

namespace Confer.Tokenizers;

/// <summary>
/// transformers' BERT <c>BasicTokenizer</c>, the step before WordPiece: drop NUL, U+FFFD and control characters; put
/// spaces around CJK ideographs; NFC; split on whitespace; lower-case and strip accents (NFD, drop Mn) unless the word
/// is a special token; split each punctuation character off, where punctuation is every Unicode P* character and every
/// ASCII non-alphanumeric symbol. Microsoft.ML.Tokenizers' own BERT pre-tokenizer differs on exactly the cases that
/// matter here: it drops <c>+ = &lt; &gt; $ ^ ` | ~</c> and symbols such as <c>×</c> (bert-base-uncased has them as
/// tokens: <c>18 + 17 = 35</c> came out as <c>18 17 35</c>) and reads accented words as [UNK] instead of <c>cafe</c>.
/// Confer runs with InvariantGlobalization, where <see cref="string.Normalize()"/> leaves non-ASCII text unchanged, so
/// accents are stripped from a table generated with Python's unicodedata (tools/gen-strip-accents.py), the same data
/// transformers uses; Hangul syllables decompose by the Unicode formula. The NFC step is therefore a no-op for
/// decomposed input (<c>e</c> + U+0301 stays two characters): that only matters for cased models, whose
/// vocabularies then see the combining mark as [UNK] where transformers would see <c>é</c>.
/// </summary>
internal sealed class BertBasicTokenizer(bool lowerCase, bool stripAccents, bool splitCjk, IReadOnlySet<string> neverSplit)
{
    /// <summary>The words WordPiece then splits, in order.</summary>
    public List<string> Split(string text)
    {
        var words = new List<string>();
        // NFC as transformers does; a no-op for non-ASCII under InvariantGlobalization (see the class summary).
        foreach (var raw in Clean(text).Normalize(NormalizationForm.FormC).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (neverSplit.Contains(raw))
            {
                words.Add(raw);
                continue;
            }
            var word = lowerCase ? raw.ToLowerInvariant() : raw;
            if (stripAccents) word = StripAccents(word);
            var current = new StringBuilder();
            foreach (var c in word)
            {
                if (!IsPunctuation(c))
                {
                    current.Append(c);
                    continue;
                }
                if (current.Length > 0) words.Add(current.ToString());
                current.Clear();
                words.Add(c.ToString());
            }
            if (current.Length > 0) words.Add(current.ToString());
        }
        return words;
    }

    private string Clean(string text)
    {
        var s = new StringBuilder(text.Length + 8);
        // Runes, so characters outside the BMP (CJK extensions) are judged whole; an unpaired surrogate reads as U+FFFD and is dropped.
        foreach (var r in text.EnumerateRunes())
        {
            if (r.Value is 0 or 0xFFFD || IsControl(r)) continue;
            if (IsWhitespace(r)) s.Append(' ');
            else if (splitCjk && IsCjk(r.Value)) s.Append(' ').Append(r.ToString()).Append(' ');
            else s.Append(r.ToString());
        }
        return s.ToString();
    }

    /// <summary>NFD, then drop every Mn character (transformers' <c>_run_strip_accents</c>).</summary>
    internal static string StripAccents(string word)
    {
        var s = new StringBuilder(word.Length);
        foreach (var r in word.EnumerateRunes())
        {
            if (r.Value is >= HangulFirst and <= HangulLast)
            {
                // Unicode §3.12: a syllable is L V (T) jamo; none of them is Mn.
                var index = r.Value - HangulFirst;
                s.Append((char)(0x1100 + index / 588)).Append((char)(0x1161 + index % 588 / 28));
                if (index % 28 != 0) s.Append((char)(0x11A7 + index % 28));
            }
            else if (StripTable.Value.TryGetValue(r.Value, out var replacement)) s.Append(replacement);
            else if (Rune.GetUnicodeCategory(r) != UnicodeCategory.NonSpacingMark) s.Append(r.ToString());
        }
        return s.ToString();
    }

    private const int HangulFirst = 0xAC00;
    private const int HangulLast = 0xD7A3;

    private static readonly Lazy<Dictionary<int, string>> StripTable = new(() =>
    {
        using var stream = typeof(BertBasicTokenizer).Assembly.GetManifestResourceStream("Confer.Tokenizers.strip-accents.txt")
            ?? throw new InvalidOperationException("The strip-accents table is missing from the Confer assembly.");
        using var reader = new StreamReader(stream);
        var table = new Dictionary<int, string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith('#')) continue;
            var fields = line.Split(' ');
            table[Convert.ToInt32(fields[0], 16)] = string.Concat(fields.Skip(1).Select(f => char.ConvertFromUtf32(Convert.ToInt32(f, 16))));
        }
        return table;
    });

    /// <summary>HF <c>_is_whitespace</c>: space, tab, newline, carriage return, or category Zs.</summary>
    private static bool IsWhitespace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    /// <summary>HF <c>_is_control</c>: categories Cc and Cf, except tab, newline and carriage return (whitespace).</summary>
    private static bool IsControl(Rune r) =>
        r.Value is not ('\t' or '\n' or '\r')
        && Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format;

    /// <summary>HF <c>_is_punctuation</c>: ASCII 33–47, 58–64, 91–96, 123–126, or any Unicode P* category.</summary>
    internal static bool IsPunctuation(char c) =>
        c is (>= '!' and <= '/') or (>= ':' and <= '@') or (>= '[' and <= '`') or (>= '{' and <= '~')
        || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    /// <summary>HF <c>_is_chinese_char</c>: the CJK Unified Ideographs blocks and their extensions and compatibility blocks.</summary>
    private static bool IsCjk(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}
