namespace Confer.Chat.Jinja;

/// <summary>Jinja tests (<c>x is defined</c>, <c>is none</c>, <c>is string</c> …) and the <c>in</c> operator.</summary>
internal static class JinjaTests
{
    public static bool Apply(string name, object? value, IReadOnlyList<object?> args) => name switch
    {
        "defined" => value is not JinjaUndefined,
        "undefined" => value is JinjaUndefined,
        "none" => value is null,
        "true" => value is true,
        "false" => value is false,
        "boolean" => value is bool,
        "string" => value is string,
        "number" => value is long or double,
        "integer" => value is long,
        "float" => value is double,
        "mapping" => value is Dictionary<string, object?>,
        "sequence" or "iterable" => value is string or List<object?> or Dictionary<string, object?>,
        "callable" => value is JinjaFunction,
        "even" => (long)JinjaValues.ToDouble(value) % 2 == 0,
        "odd" => (long)JinjaValues.ToDouble(value) % 2 != 0,
        "divisibleby" => (long)JinjaValues.ToDouble(value) % (long)JinjaValues.ToDouble(Arg(args, name)) == 0,
        "sameas" => Arg(args, name) is var other && (value is null ? other is null : value is bool b ? other is bool c && b == c : ReferenceEquals(value, other)),
        "eq" or "equalto" or "==" => JinjaValues.Equals(value, Arg(args, name)),
        "ne" or "!=" => !JinjaValues.Equals(value, Arg(args, name)),
        "lt" or "lessthan" or "<" => JinjaValues.Compare(value, Arg(args, name)) < 0,
        "le" or "<=" => JinjaValues.Compare(value, Arg(args, name)) <= 0,
        "gt" or "greaterthan" or ">" => JinjaValues.Compare(value, Arg(args, name)) > 0,
        "ge" or ">=" => JinjaValues.Compare(value, Arg(args, name)) >= 0,
        "in" => Contains(Arg(args, name), value),
        "upper" => value is string u && u == u.ToUpperInvariant(),
        "lower" => value is string l && l == l.ToLowerInvariant(),
        _ => throw new JinjaException($"test '{name}' is not supported by Confer's Jinja subset"),
    };

    public static bool Contains(object? container, object? item) => container switch
    {
        string s => s.Contains(JinjaValues.ToText(item), StringComparison.Ordinal),
        List<object?> list => list.Any(x => JinjaValues.Equals(x, item)),
        Dictionary<string, object?> dict => item is string key && dict.ContainsKey(key),
        JinjaUndefined => throw new JinjaException("'in' on an undefined value"),
        _ => throw new JinjaException($"'in' on {JinjaValues.TypeName(container)}"),
    };

    private static object? Arg(IReadOnlyList<object?> args, string test) =>
        args.Count > 0 ? args[0] : throw new JinjaException($"test '{test}' needs an argument");
}
