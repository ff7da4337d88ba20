using System.Globalization;

namespace Confer.Chat.Jinja;

/// <summary>
/// Attribute access, subscripts, slices and the Python methods chat templates call: <c>str.strip/lstrip/rstrip/split/
/// startswith/endswith/upper/lower/title/capitalize/replace/join</c> and <c>dict.items/keys/values/get</c>.
/// </summary>
internal static class JinjaMembers
{
    public static object? Attribute(object? target, string name)
    {
        switch (target)
        {
            case JinjaUndefined:
                throw new JinjaException($"'.{name}' of an undefined value");
            case null:
                throw new JinjaException($"'None' has no attribute '{name}'");
            case Dictionary<string, object?> dict when dict.TryGetValue(name, out var value):
                return value;
            case Dictionary<string, object?> dict when target is not JinjaNamespace:
                return DictMethod(dict, name) ?? (object)JinjaUndefined.Instance;
            case string s:
                return StringMethod(s, name) ?? (object)JinjaUndefined.Instance;
            default:
                return JinjaUndefined.Instance;
        }
    }

    public static object? Item(object? target, object? index) => (target, index) switch
    {
        (JinjaUndefined, _) => throw new JinjaException($"subscript of an undefined value"),
        (List<object?> list, long i) => Position(i, list.Count) is { } at ? list[at] : JinjaUndefined.Instance,
        (string s, long i) => Position(i, s.Length) is { } at ? s[at].ToString() : JinjaUndefined.Instance,
        (Dictionary<string, object?> dict, string key) => dict.TryGetValue(key, out var value) ? value : JinjaUndefined.Instance,
        (Dictionary<string, object?> dict, _) => dict.TryGetValue(JinjaValues.ToText(index), out var value) ? value : JinjaUndefined.Instance,
        _ => JinjaUndefined.Instance,
    };

    private static int? Position(long i, int count)
    {
        long at = i < 0 ? count + i : i;
        return at >= 0 && at < count ? (int)at : null;
    }

    /// <summary>Python slicing <c>[start:stop:step]</c> on a list or string, negative indices and steps included.</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        List<object?> items = target switch
        {
            List<object?> list => list,
            string s => s.Select(c => (object?)c.ToString()).ToList(),
            _ => throw new JinjaException($"cannot slice {JinjaValues.TypeName(target)}"),
        };
        long n = items.Count;
        long by = step is null ? 1 : (long)JinjaValues.ToDouble(step);
        if (by == 0) throw new JinjaException("slice step cannot be zero");
        long Clamp(object? v, long fallback)
        {
            if (v is null) return fallback;
            long i = (long)JinjaValues.ToDouble(v);
            if (i < 0) i += n;
            return by > 0 ? Math.Clamp(i, 0, n) : Math.Clamp(i, -1, n - 1);
        }
        long from = Clamp(start, by > 0 ? 0 : n - 1), to = Clamp(stop, by > 0 ? n : -1);
        var result = new List<object?>();
        for (long i = from; by > 0 ? i < to : i > to; i += by) result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Cast<string>()) : result;
    }

    private static JinjaFunction? DictMethod(Dictionary<string, object?> dict, string name) => name switch
    {
        "items" => (_, _) => dict.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
        "keys" => (_, _) => dict.Keys.Select(k => (object?)k).ToList(),
        "values" => (_, _) => dict.Values.ToList(),
        "get" => (args, _) => dict.TryGetValue(JinjaValues.ToText(Arg(args, 0, "get")), out var v) ? v : args.Count > 1 ? args[1] : null,
        _ => null,
    };

    private static JinjaFunction? StringMethod(string s, string name) => name switch
    {
        "strip" => (args, _) => args.Count > 0 && args[0] is string chars ? s.Trim(chars.ToCharArray()) : PythonStrip(s, true, true),
        "lstrip" => (args, _) => args.Count > 0 && args[0] is string chars ? s.TrimStart(chars.ToCharArray()) : PythonStrip(s, true, false),
        "rstrip" => (args, _) => args.Count > 0 && args[0] is string chars ? s.TrimEnd(chars.ToCharArray()) : PythonStrip(s, false, true),
        "split" => (args, _) => Split(s, args),
        "startswith" => (args, _) => s.StartsWith(Text(args, "startswith"), StringComparison.Ordinal),
        "endswith" => (args, _) => s.EndsWith(Text(args, "endswith"), StringComparison.Ordinal),
        "upper" => (_, _) => s.ToUpperInvariant(),
        "lower" => (_, _) => s.ToLowerInvariant(),
        "title" => (_, _) => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(s.ToLowerInvariant()),
        "capitalize" => (_, _) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant(),
        "replace" => (args, _) => s.Replace(Text(args, "replace"), JinjaValues.ToText(Arg(args, 1, "replace")), StringComparison.Ordinal),
        "join" => (args, _) => string.Join(s, JinjaFilters.Iterate(Arg(args, 0, "join")).Select(JinjaValues.ToText)),
        _ => null,
    };

    /// <summary>Python's argument-less strip removes Unicode whitespace, like .NET's Trim.</summary>
    public static string PythonStrip(string s, bool start, bool end) => start && end ? s.Trim() : start ? s.TrimStart() : s.TrimEnd();

    private static object? Split(string s, IReadOnlyList<object?> args)
    {
        if (args.Count == 0 || args[0] is null)
            return s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(p => (object?)p).ToList();
        string separator = JinjaValues.ToText(args[0]);
        if (separator.Length == 0) throw new JinjaException("split: empty separator");
        int max = args.Count > 1 ? (int)JinjaValues.ToDouble(args[1]) : -1;
        var parts = max < 0 ? s.Split(separator) : s.Split(separator, max + 1);
        return parts.Select(p => (object?)p).ToList();
    }

    private static string Text(IReadOnlyList<object?> args, string method) => JinjaValues.ToText(Arg(args, 0, method));

    private static object? Arg(IReadOnlyList<object?> args, int i, string method) =>
        i < args.Count ? args[i] : throw new JinjaException($"{method}() is missing argument {i + 1}");
}
