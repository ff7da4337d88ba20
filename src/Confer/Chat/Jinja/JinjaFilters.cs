namespace Confer.Chat.Jinja;

/// <summary>The Jinja filters chat templates use; any other filter is an error that names it.</summary>
internal static class JinjaFilters
{
    public static object? Apply(string name, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        object? Arg(int i, string key, object? fallback) => i < args.Count ? args[i] : kwargs.TryGetValue(key, out var v) ? v : fallback;
        switch (name)
        {
            case "trim":
                return Arg(0, "chars", null) is string chars ? Text(value).Trim(chars.ToCharArray()) : Text(value).Trim();
            case "length" or "count":
                return value switch
                {
                    string s => (long)s.Length,
                    System.Collections.ICollection c => (long)c.Count,
                    _ => throw new JinjaException($"length of {JinjaValues.TypeName(value)}"),
                };
            case "tojson":
                return JinjaValues.ToJson(value, Arg(0, "indent", null) is { } indent ? (int)JinjaValues.ToDouble(indent) : null);
            case "string":
                return JinjaValues.ToText(value);
            case "upper":
                return Text(value).ToUpperInvariant();
            case "lower":
                return Text(value).ToLowerInvariant();
            case "capitalize":
                var text = Text(value);
                return text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..].ToLowerInvariant();
            case "title":
                return System.Globalization.CultureInfo.InvariantCulture.TextInfo.ToTitleCase(Text(value).ToLowerInvariant());
            case "replace":
                return Text(value).Replace(JinjaValues.ToText(Arg(0, "old", "")), JinjaValues.ToText(Arg(1, "new", "")), StringComparison.Ordinal);
            case "default" or "d":
                bool boolean = JinjaValues.Truthy(Arg(1, "boolean", false));
                return value is JinjaUndefined || (boolean && !JinjaValues.Truthy(value)) ? Arg(0, "default_value", "") : value;
            case "join":
                var attribute = Arg(1, "attribute", null);
                var items = Iterate(value).Select(i => attribute is null ? i : JinjaMembers.Attribute(i, JinjaValues.ToText(attribute)));
                return string.Join(JinjaValues.ToText(Arg(0, "d", "")), items.Select(JinjaValues.ToText));
            case "first":
                return Iterate(value).DefaultIfEmpty(JinjaUndefined.Instance).First();
            case "last":
                return Iterate(value).DefaultIfEmpty(JinjaUndefined.Instance).Last();
            case "list":
                return Iterate(value).ToList();
            case "reverse":
                return value is string r ? new string(r.Reverse().ToArray()) : Iterate(value).Reverse().ToList();
            case "items":
                return value is Dictionary<string, object?> dict
                    ? dict.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList()
                    : throw new JinjaException($"items of {JinjaValues.TypeName(value)}");
            case "int":
                return value switch
                {
                    long l => l,
                    double x => (long)x,
                    bool b => b ? 1L : 0L,
                    string s when long.TryParse(s.Trim(), out long parsed) => parsed,
                    _ => Arg(0, "default", 0L),
                };
            case "float":
                return value is string f && double.TryParse(f, System.Globalization.CultureInfo.InvariantCulture, out double parsedFloat) ? parsedFloat : JinjaValues.ToDouble(value);
            case "abs":
                return value is long a ? (object)Math.Abs(a) : Math.Abs(JinjaValues.ToDouble(value));
            case "safe":
                return value;
            case "map":
                return kwargs.TryGetValue("attribute", out var mapped)
                    ? Iterate(value).Select(i => JinjaMembers.Attribute(i, JinjaValues.ToText(mapped))).ToList()
                    : Iterate(value).Select(i => Apply(JinjaValues.ToText(Arg(0, "filter", "")), i, args.Skip(1).ToList(), new Dictionary<string, object?>())).ToList();
            case "selectattr" or "rejectattr":
                bool keep = name == "selectattr";
                string attr = JinjaValues.ToText(Arg(0, "attribute", ""));
                return Iterate(value).Where(i =>
                {
                    var v = JinjaMembers.Attribute(i, attr);
                    bool pass = args.Count > 1 ? JinjaTests.Apply(JinjaValues.ToText(args[1]), v, args.Skip(2).ToList()) : JinjaValues.Truthy(v);
                    return pass == keep;
                }).ToList();
            case "select" or "reject":
                bool selecting = name == "select";
                return Iterate(value).Where(i =>
                    (args.Count > 0 ? JinjaTests.Apply(JinjaValues.ToText(args[0]), i, args.Skip(1).ToList()) : JinjaValues.Truthy(i)) == selecting).ToList();
            default:
                throw new JinjaException($"filter '{name}' is not supported by Confer's Jinja subset");
        }
    }

    public static IEnumerable<object?> Iterate(object? value) => value switch
    {
        List<object?> list => list,
        Dictionary<string, object?> dict => dict.Keys,
        string s => s.Select(c => (object?)c.ToString()),
        JinjaUndefined or null => [],
        _ => throw new JinjaException($"cannot iterate over {JinjaValues.TypeName(value)}"),
    };

    private static string Text(object? value) => value is string s ? s : JinjaValues.ToText(value);
}
