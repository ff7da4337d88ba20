using System.Text.Json;

namespace Confer.Data;

/// <summary>
/// Reads the JSON objects of a data file that is either one JSON array or JSON Lines (one object per line), so that
/// every loader accepts both layouts and reports the same record index (0-based, blank lines not counted).
/// </summary>
internal static class JsonRecordFile
{
    /// <summary>Parses the whole file and returns its objects in order. Throws <see cref="InvalidDataException"/>
    /// naming the file (and line for JSONL) when the JSON is malformed or a record is not an object.</summary>
    public static IReadOnlyList<JsonElement> ReadObjects(string path)
    {
        if (Directory.Exists(path))
            throw new FileNotFoundException($"Data file '{path}' is a folder; pass one of its JSON/JSONL files (a folder of local_training_<i>.json files is for `confer simulate`'s data key).", path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        var text = File.ReadAllText(path);
        var first = text.AsSpan().TrimStart();
        var records = first.Length > 0 && first[0] == '[' ? ReadArray(path, text) : ReadLines(path, text);
        for (var i = 0; i < records.Count; i++)
        {
            if (records[i].ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: record {i} is a JSON {records[i].ValueKind}, expected an object.");
        }
        return records;
    }

    private static List<JsonElement> ReadArray(string path, string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true });
            return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }

    private static List<JsonElement> ReadLines(string path, string text)
    {
        var records = new List<JsonElement>();
        var lineNumber = 0;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            if (line.IsWhiteSpace()) continue;
            try
            {
                using var doc = JsonDocument.Parse(line.ToString());
                records.Add(doc.RootElement.Clone());
            }
            catch (JsonException e)
            {
                throw new InvalidDataException(
                    $"{path}: line {lineNumber} is not valid JSON ({e.Message}). The file must be a JSON array or JSON Lines.", e);
            }
        }
        return records;
    }

    /// <summary>Reads a string property; null when absent or JSON null. Throws when present with another type.</summary>
    public static string? GetOptionalString(JsonElement record, string field, string path, int index) =>
        !record.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null
            ? null
            : value.ValueKind == JsonValueKind.String
                ? value.GetString()!
                : throw new InvalidDataException($"{path}: record {index}: field '{field}' is a JSON {value.ValueKind}, expected a string.");

    /// <summary>Reads a string property that must be present.</summary>
    public static string GetRequiredString(JsonElement record, string field, string path, int index) =>
        GetOptionalString(record, field, path, index)
        ?? throw new InvalidDataException($"{path}: record {index} is missing required field '{field}'.");
}
