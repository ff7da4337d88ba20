using System.Text;
using System.Text.Json;

namespace Confer.Data;

/// <summary>
/// Reads documents for language-model pretraining: a <c>.txt</c> file is one document per blank-line-separated
/// paragraph block; in <c>.json</c>/<c>.jsonl</c> files each record is one document made of all its string values
/// (nested ones too), so QA and instruction sets can be used as raw text without a schema. A JSON object at the top level
/// whose values are objects (e.g. PubMedQA keyed by PMID) is read as one record per value.
/// </summary>
public static class TextCorpus
{
    public static IEnumerable<string> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Text file '{path}' does not exist.", path);
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext == ".txt")
            return File.ReadAllText(path).Split(["\n\n", "\r\n\r\n"], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (ext == ".jsonl")
            return JsonRecordFile.ReadObjects(path).Select(Flatten).Where(d => d.Length > 0).ToList();
        if (ext == ".json")
        {
            using var doc = ParseJson(path);
            var root = doc.RootElement;
            var records = root.ValueKind switch
            {
                JsonValueKind.Array => root.EnumerateArray().ToList(),
                JsonValueKind.Object when root.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.Object) =>
                    root.EnumerateObject().Select(p => p.Value).ToList(),
                _ => [root],
            };
            return records.Select(Flatten).Where(d => d.Length > 0).ToList();
        }
        throw new NotSupportedException($"'{path}': unsupported text file type '{ext}' (use .txt, .json or .jsonl).");
    }

    private static JsonDocument ParseJson(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException)
        {
            // Not one JSON document: many ".json" files in the wild are JSON Lines.
            return JsonDocument.Parse("[" + string.Join(",", File.ReadLines(path).Where(l => l.Trim().Length > 0)) + "]");
        }
    }

    private static string Flatten(JsonElement element)
    {
        var sb = new StringBuilder();
        Append(element, sb);
        return sb.ToString().Trim();
    }

    private static void Append(JsonElement e, StringBuilder sb)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                var s = e.GetString();
                if (!string.IsNullOrWhiteSpace(s)) sb.Append(s.Trim()).Append('\n');
                break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject()) Append(p.Value, sb);
                break;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray()) Append(item, sb);
                break;
        }
    }
}
