using System.Text.Json;
using System.Text.Json.Serialization;

namespace Confer.Federation.Reporting;

/// <summary>How the run folder's JSON files are read: snake_case names, and NaN/Infinity accepted for diverged losses.</summary>
internal static class ReportJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Deserialises <paramref name="element"/>, naming <paramref name="where"/> (file and line) when a field has the wrong type.</summary>
    public static T Read<T>(JsonElement element, string where)
    {
        try
        {
            return element.Deserialize<T>(Options) ?? throw new InvalidDataException($"{where}: expected a JSON object, found null.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{where}: {ex.Message}", ex);
        }
    }

    /// <summary>Fails clearly when a field the report cannot do without is absent (a default would silently mislead).</summary>
    public static void Require(JsonElement element, string field, string where)
    {
        if (!element.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            throw new InvalidDataException($"{where}: missing field '{field}'.");
    }
}
