using System.Text.Json;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>Reads the fields of a <c>tokenizer.json</c> component: its type, flags that default to false, optional strings.</summary>
internal static class TokenizerJsonFields
{
    public static string TypeOf(JsonElement component, string path, string name) =>
        component.ValueKind == JsonValueKind.Object && component.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            ? type.GetString()!
            : throw TokenizerJsonError.Invalid(path, $"{name} has no \"type\"");

    public static bool Flag(JsonElement component, string name) =>
        component.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public static string? Text(JsonElement component, string name) =>
        component.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
