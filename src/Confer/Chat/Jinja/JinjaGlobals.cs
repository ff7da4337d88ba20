using System.Globalization;

namespace Confer.Chat.Jinja;

/// <summary>
/// The functions transformers gives chat templates: <c>raise_exception</c> (the template's own refusal, e.g. "roles
/// must alternate"), <c>strftime_now</c> (Llama 3.2 puts today's date in its system prompt), <c>namespace</c> and <c>range</c>.
/// </summary>
internal static class JinjaGlobals
{
    public static Dictionary<string, object?> Create() => new(StringComparer.Ordinal)
    {
        ["raise_exception"] = (JinjaFunction)((args, _) => throw new JinjaException("the chat template refused the messages: " + (args.Count > 0 ? JinjaValues.ToText(args[0]) : "(no message)"))),
        ["namespace"] = (JinjaFunction)((_, kwargs) =>
        {
            var ns = new JinjaNamespace();
            foreach (var (key, value) in kwargs) ns[key] = value;
            return ns;
        }),
        ["range"] = (JinjaFunction)((args, _) => Range(args)),
        ["strftime_now"] = (JinjaFunction)((args, _) => Strftime(DateTime.Now, args.Count > 0 ? JinjaValues.ToText(args[0]) : "")),
    };

    private static List<object?> Range(IReadOnlyList<object?> args)
    {
        var n = args.Select(a => (long)JinjaValues.ToDouble(a)).ToArray();
        var (start, stop, step) = n.Length switch
        {
            1 => (0L, n[0], 1L),
            2 => (n[0], n[1], 1L),
            3 => (n[0], n[1], n[2]),
            _ => throw new JinjaException("range() takes 1 to 3 arguments"),
        };
        if (step == 0) throw new JinjaException("range() step must not be zero");
        var result = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) result.Add(i);
        return result;
    }

    /// <summary>Python's strftime for the directives date lines use (%d %m %y %Y %b %B %a %A %H %M %S %j %p %%).</summary>
    public static string Strftime(DateTime time, string format)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            char d = format[++i];
            sb.Append(d switch
            {
                'd' => time.ToString("dd", c),
                'm' => time.ToString("MM", c),
                'y' => time.ToString("yy", c),
                'Y' => time.ToString("yyyy", c),
                'b' => time.ToString("MMM", c),
                'B' => time.ToString("MMMM", c),
                'a' => time.ToString("ddd", c),
                'A' => time.ToString("dddd", c),
                'H' => time.ToString("HH", c),
                'M' => time.ToString("mm", c),
                'S' => time.ToString("ss", c),
                'p' => time.ToString("tt", c),
                'j' => time.DayOfYear.ToString("D3", c),
                '%' => "%",
                _ => throw new JinjaException($"strftime_now: directive '%{d}' is not supported"),
            });
        }
        return sb.ToString();
    }
}
