using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Confer.Chat.Jinja;

/// <summary>An undefined variable, attribute or item: renders as "", is false, and <c>is defined</c> is false.</summary>
internal sealed class JinjaUndefined
{
    public static readonly JinjaUndefined Instance = new();
}

/// <summary><c>namespace(...)</c>: the one object whose attributes a template may set, across loop scopes.</summary>
internal sealed class JinjaNamespace : Dictionary<string, object?>
{
    public JinjaNamespace() : base(StringComparer.Ordinal) { }
}

/// <summary>A callable value: a global function or a bound method.</summary>
internal delegate object? JinjaFunction(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs);

/// <summary>
/// Python semantics for the values a template handles (None, bool, int, float, str, list, dict): truthiness,
/// equality, ordering, <c>str()</c> and <c>json.dumps</c>, since chat templates are written against Python.
/// </summary>
internal static class JinjaValues
{
    public static bool Truthy(object? v) => v switch
    {
        null or JinjaUndefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        System.Collections.ICollection c => c.Count > 0,
        _ => true,
    };

    public static new bool Equals(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (JinjaUndefined, JinjaUndefined) => true,
        (bool x, bool y) => x == y,
        (long or double or bool, long or double or bool) when a is not bool || b is not bool => ToDouble(a) == ToDouble(b),
        (string x, string y) => x == y,
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equals(p.First, p.Second)),
        (Dictionary<string, object?> x, Dictionary<string, object?> y) =>
            x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var other) && Equals(kv.Value, other)),
        _ => ReferenceEquals(a, b),
    };

    public static int Compare(object? a, object? b) => (a, b) switch
    {
        (string x, string y) => string.CompareOrdinal(x, y),
        (long or double or bool, long or double or bool) => ToDouble(a).CompareTo(ToDouble(b)),
        _ => throw new JinjaException($"cannot compare {TypeName(a)} with {TypeName(b)}"),
    };

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new JinjaException($"expected a number, got {TypeName(v)}"),
    };

    public static string TypeName(object? v) => v switch
    {
        null => "None",
        JinjaUndefined => "undefined",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        JinjaNamespace => "namespace",
        Dictionary<string, object?> => "dict",
        _ => v.GetType().Name,
    };

    /// <summary>Python's <c>str()</c> (what <c>{{ value }}</c> prints), with "" for undefined.</summary>
    public static string ToText(object? v) => v switch
    {
        JinjaUndefined => "",
        string s => s,
        _ => Repr(v),
    };

    /// <summary>Python's <c>repr()</c>: strings quoted inside lists and dicts.</summary>
    public static string Repr(object? v) => v switch
    {
        null => "None",
        JinjaUndefined => "",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatText(d),
        string s => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "'",
        List<object?> list => "[" + string.Join(", ", list.Select(Repr)) + "]",
        Dictionary<string, object?> dict => "{" + string.Join(", ", dict.Select(kv => Repr(kv.Key) + ": " + Repr(kv.Value))) + "}",
        _ => v.ToString() ?? "",
    };

    private static string FloatText(double d) =>
        double.IsInteger(d) && Math.Abs(d) < 1e16 ? d.ToString("F1", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// transformers' <c>tojson</c> filter: <c>json.dumps(value, ensure_ascii=False, indent=indent)</c>, so non-ASCII
    /// stays as is and the separators are Python's (", " and ": " without indent, "," and ": " with it).
    /// </summary>
    public static string ToJson(object? v, int? indent)
    {
        var sb = new StringBuilder();
        WriteJson(sb, v, indent, 0);
        return sb.ToString();
    }

    private static void WriteJson(StringBuilder sb, object? v, int? indent, int depth)
    {
        switch (v)
        {
            case null or JinjaUndefined: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long or double: sb.Append(Repr(v)); break;
            case string s: WriteJsonString(sb, s); break;
            case List<object?> list: WriteJsonItems(sb, '[', ']', list.Select(i => ((string?)null, i)), indent, depth); break;
            case Dictionary<string, object?> dict: WriteJsonItems(sb, '{', '}', dict.Select(kv => ((string?)kv.Key, kv.Value)), indent, depth); break;
            default: throw new JinjaException($"tojson cannot serialise {TypeName(v)}");
        }
    }

    private static void WriteJsonItems(StringBuilder sb, char open, char close, IEnumerable<(string? Key, object? Value)> items, int? indent, int depth)
    {
        var list = items.ToList();
        sb.Append(open);
        if (list.Count == 0)
        {
            sb.Append(close);
            return;
        }
        for (int i = 0; i < list.Count; i++)
        {
            if (i > 0) sb.Append(indent is null ? ", " : ",");
            if (indent is { } n) sb.Append('\n').Append(' ', n * (depth + 1));
            if (list[i].Key is { } key)
            {
                WriteJsonString(sb, key);
                sb.Append(": ");
            }
            WriteJson(sb, list[i].Value, indent, depth + 1);
        }
        if (indent is { } m) sb.Append('\n').Append(' ', m * depth);
        sb.Append(close);
    }

    private static void WriteJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case < ' ': sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }
        sb.Append('"');
    }

    /// <summary>A JSON value (e.g. a chat message file) as template values: objects become dicts, numbers int or float.</summary>
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal), (d, p) =>
        {
            d[p.Name] = FromJson(p.Value);
            return d;
        }),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
