using System.Globalization;
using System.Text;

namespace Confer.Chat.Jinja;

/// <summary>
/// Splits a template into text and tag tokens with Hugging Face's environment settings: <c>trim_blocks</c> (the newline
/// after a block or comment tag is dropped) and <c>lstrip_blocks</c> (spaces and tabs before a block or comment tag on
/// its line are dropped), plus Jinja's <c>-</c> whitespace control on any tag.
/// </summary>
internal static class JinjaLexer
{
    private static readonly string[] Operators = ["==", "!=", "<=", ">=", "//", "**", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ".", ",", ":", "|"];

    public static List<JinjaToken> Tokenize(string template)
    {
        var tokens = new List<JinjaToken>();
        int at = 0;
        bool stripNextText = false, trimNextNewline = false;
        while (at < template.Length)
        {
            int open = FindTag(template, at);
            int textEnd = open < 0 ? template.Length : open;
            string text = template[at..textEnd];
            if (trimNextNewline) text = DropLeadingNewline(text);
            if (stripNextText) text = text.TrimStart();
            if (open < 0)
            {
                if (text.Length > 0) tokens.Add(new(JinjaTokenKind.Text, text, at));
                break;
            }
            char kind = template[open + 1];
            bool minus = open + 2 < template.Length && template[open + 2] == '-';
            bool plus = open + 2 < template.Length && template[open + 2] == '+';
            if (minus) text = text.TrimEnd();
            else if (kind != '{' && !plus && StartsLine(template, open)) text = text.TrimEnd(' ', '\t');
            if (text.Length > 0) tokens.Add(new(JinjaTokenKind.Text, text, at));

            int inner = open + 2 + (minus || plus ? 1 : 0);
            if (kind == '#')
            {
                int close = template.IndexOf("#}", inner, StringComparison.Ordinal);
                if (close < 0) throw new JinjaException($"unclosed comment at character {open}");
                stripNextText = template[close - 1] == '-';
                trimNextNewline = !stripNextText;
                at = close + 2;
                continue;
            }
            string closer = kind == '{' ? "}}" : "%}";
            tokens.Add(new(kind == '{' ? JinjaTokenKind.OutputStart : JinjaTokenKind.BlockStart, "", open));
            at = LexTag(template, inner, closer, tokens, out bool closeMinus, out bool closePlus);
            tokens.Add(new(kind == '{' ? JinjaTokenKind.OutputEnd : JinjaTokenKind.BlockEnd, "", at));
            stripNextText = closeMinus;
            trimNextNewline = kind == '%' && !closeMinus && !closePlus;
        }
        tokens.Add(new(JinjaTokenKind.End, "", template.Length));
        return tokens;
    }

    private static int FindTag(string s, int from)
    {
        for (int i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
            if (s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    private static string DropLeadingNewline(string text) =>
        text.StartsWith("\r\n", StringComparison.Ordinal) ? text[2..] : text.StartsWith('\n') ? text[1..] : text;

    /// <summary>lstrip_blocks applies when only spaces and tabs stand between the start of the line and the tag.</summary>
    private static bool StartsLine(string template, int tag)
    {
        int i = tag;
        while (i > 0 && template[i - 1] is ' ' or '\t') i--;
        return i == 0 || template[i - 1] == '\n';
    }

    private static int LexTag(string s, int at, string closer, List<JinjaToken> tokens, out bool closeMinus, out bool closePlus)
    {
        while (true)
        {
            while (at < s.Length && char.IsWhiteSpace(s[at])) at++;
            if (at >= s.Length) throw new JinjaException($"unclosed tag: expected '{closer}'");
            closeMinus = s[at] == '-' && string.CompareOrdinal(s, at + 1, closer, 0, 2) == 0;
            closePlus = s[at] == '+' && string.CompareOrdinal(s, at + 1, closer, 0, 2) == 0;
            if (closeMinus || closePlus) return at + 3;
            if (string.CompareOrdinal(s, at, closer, 0, 2) == 0) return at + 2;
            char c = s[at];
            if (char.IsLetter(c) || c == '_')
            {
                int start = at;
                while (at < s.Length && (char.IsLetterOrDigit(s[at]) || s[at] == '_')) at++;
                tokens.Add(new(JinjaTokenKind.Name, s[start..at], start));
            }
            else if (char.IsDigit(c))
            {
                int start = at;
                while (at < s.Length && (char.IsDigit(s[at]) || s[at] == '_')) at++;
                bool isFloat = at + 1 < s.Length && s[at] == '.' && char.IsDigit(s[at + 1]);
                if (isFloat) for (at++; at < s.Length && char.IsDigit(s[at]); at++) { }
                tokens.Add(new(isFloat ? JinjaTokenKind.Float : JinjaTokenKind.Integer, s[start..at].Replace("_", ""), start));
            }
            else if (c is '\'' or '"') at = LexString(s, at, tokens);
            else
            {
                var op = Operators.FirstOrDefault(o => string.CompareOrdinal(s, at, o, 0, o.Length) == 0)
                         ?? throw new JinjaException($"unexpected character '{c}' at character {at}");
                tokens.Add(new(JinjaTokenKind.Operator, op, at));
                at += op.Length;
            }
        }
    }

    private static int LexString(string s, int at, List<JinjaToken> tokens)
    {
        char quote = s[at];
        var value = new StringBuilder();
        int i = at + 1;
        for (; i < s.Length && s[i] != quote; i++)
        {
            if (s[i] != '\\' || i + 1 >= s.Length)
            {
                value.Append(s[i]);
                continue;
            }
            char e = s[++i];
            switch (e)
            {
                case 'n': value.Append('\n'); break;
                case 't': value.Append('\t'); break;
                case 'r': value.Append('\r'); break;
                case '\\' or '\'' or '"': value.Append(e); break;
                case 'u' when i + 4 < s.Length:
                    value.Append((char)int.Parse(s.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                default: value.Append('\\').Append(e); break;
            }
        }
        if (i >= s.Length) throw new JinjaException($"unterminated string at character {at}");
        tokens.Add(new(JinjaTokenKind.String, value.ToString(), at));
        return i + 1;
    }
}
