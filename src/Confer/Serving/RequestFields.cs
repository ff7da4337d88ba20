using System.Text.Json;

namespace Confer.Serving;

/// <summary>
/// The fields of one JSON request body, read once each. Whatever no reader took is refused at the end
/// (<see cref="RefuseUnread"/>), so a field that would change generation is never silently ignored. A field sent as
/// null counts as absent, as in OpenAI's API.
/// </summary>
internal sealed class RequestFields
{
    private readonly Dictionary<string, JsonElement> _unread = new(StringComparer.Ordinal);

    public RequestFields(JsonElement body, string what = "The request body")
    {
        if (body.ValueKind != JsonValueKind.Object) throw OpenAiException.BadRequest($"{what} must be a JSON object.");
        foreach (var p in body.EnumerateObject())
        {
            if (_unread.ContainsKey(p.Name)) throw OpenAiException.BadRequest($"{what} names '{p.Name}' twice.", p.Name);
            _unread[p.Name] = p.Value;
        }
        foreach (var nulls in _unread.Where(f => f.Value.ValueKind == JsonValueKind.Null).Select(f => f.Key).ToList()) _unread.Remove(nulls);
    }

    /// <summary>Takes a field: its value, or null when absent.</summary>
    public JsonElement? Take(string name) => _unread.Remove(name, out var value) ? value : null;

    public string? String(string name) => Take(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        _ => throw Invalid(name, "a string"),
    };

    public bool Bool(string name, bool fallback) => Take(name) switch
    {
        null => fallback,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw Invalid(name, "true or false"),
    };

    /// <summary>A number in [<paramref name="min"/>, <paramref name="max"/>] (min excluded when <paramref name="minExclusive"/>).</summary>
    public double Number(string name, double fallback, double min, double max, bool minExclusive = false)
    {
        if (Take(name) is not { } v) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var x)) throw Invalid(name, "a number");
        if ((minExclusive ? x <= min : x < min) || x > max)
            throw OpenAiException.BadRequest($"{name}: {v.GetRawText()} is out of range; it must be {(minExclusive ? "greater than" : "at least")} {min} and at most {max}.", name);
        return x;
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    public long? Integer(string name, long min, long max)
    {
        if (Take(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var x)) throw Invalid(name, "an integer");
        if (x < min || x > max) throw OpenAiException.BadRequest($"{name}: {x} is out of range; it must be between {min} and {max}.", name);
        return x;
    }

    /// <summary>Takes a field generation does not support unless it has its neutral value (e.g. frequency_penalty 0).</summary>
    public void Neutral(string name, Func<JsonElement, bool> isNeutral, string neutral)
    {
        if (Take(name) is { } v && !isNeutral(v))
            throw OpenAiException.BadRequest($"{name} is not supported by confer serve (only {neutral}); remove it from the request.", name);
    }

    /// <summary>Takes fields that change nothing about the generated text (e.g. user).</summary>
    public void Ignore(params string[] names)
    {
        foreach (var name in names) Take(name);
    }

    /// <summary>Refuses the first field no reader took, in OpenAI's words.</summary>
    public void RefuseUnread()
    {
        if (_unread.Count > 0) throw OpenAiException.BadRequest($"Unrecognized request argument supplied: {_unread.Keys.First()}", _unread.Keys.First());
    }

    public static OpenAiException Invalid(string name, string expected) => OpenAiException.BadRequest($"{name} must be {expected}.", name);

    public static bool IsZero(JsonElement v) => v.ValueKind == JsonValueKind.Number && v.GetDouble() == 0;

    public static bool IsFalse(JsonElement v) => v.ValueKind == JsonValueKind.False;

    public static bool IsString(JsonElement v, string value) => v.ValueKind == JsonValueKind.String && v.ValueEquals(value);

    public static bool IsEmpty(JsonElement v) =>
        (v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any()) || (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0);
}
