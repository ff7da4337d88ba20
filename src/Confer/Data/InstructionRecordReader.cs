using System.Text.Json;

namespace Confer.Data;

/// <summary>
/// Loads instruction-tuning data from a JSON array or JSON Lines file in either the Alpaca schema
/// (<c>instruction</c>/<c>input</c>/<c>output</c>) or the Dolly schema (<c>instruction</c>/<c>context</c>/<c>response</c>/<c>category</c>).
/// The schema is detected once per file from its first record, and every record is then held to it, so a stray
/// record in the other schema is reported instead of silently becoming an empty example.
/// </summary>
public static class InstructionRecordReader
{
    private enum Schema { Alpaca, Dolly }

    /// <summary>Reads every record of <paramref name="path"/>. Throws <see cref="InvalidDataException"/> naming the file,
    /// the 0-based record index and the field when a required field (<c>instruction</c> and <c>output</c>/<c>response</c>)
    /// is missing or not a string. <c>input</c>/<c>context</c> may be absent (read as empty).</summary>
    public static IReadOnlyList<InstructionRecord> Load(string path)
    {
        var objects = JsonRecordFile.ReadObjects(path);
        if (objects.Count == 0) return [];
        var schema = Detect(objects[0], path);
        var records = new InstructionRecord[objects.Count];
        for (var i = 0; i < objects.Count; i++) records[i] = Read(objects[i], schema, path, i);
        return records;
    }

    /// <summary>Reads and concatenates several files in the order given (e.g. all Dolly client shards).</summary>
    public static IReadOnlyList<InstructionRecord> LoadAll(IEnumerable<string> paths) =>
        paths.SelectMany(Load).ToList();

    private static Schema Detect(JsonElement first, string path)
    {
        var dolly = first.TryGetProperty("response", out _) || first.TryGetProperty("context", out _);
        var alpaca = first.TryGetProperty("output", out _) || first.TryGetProperty("input", out _);
        return (dolly, alpaca) switch
        {
            (true, false) => Schema.Dolly,
            (false, true) => Schema.Alpaca,
            (true, true) => throw new InvalidDataException(
                $"{path}: record 0 mixes Alpaca fields (input/output) and Dolly fields (context/response); use one schema per file."),
            _ => throw new InvalidDataException(
                $"{path}: record 0 has neither 'output' (Alpaca: instruction/input/output) nor 'response' " +
                "(Dolly: instruction/context/response/category); cannot tell the schema."),
        };
    }

    private static InstructionRecord Read(JsonElement o, Schema schema, string path, int index)
    {
        var instruction = JsonRecordFile.GetRequiredString(o, "instruction", path, index);
        return schema == Schema.Dolly
            ? new InstructionRecord(
                instruction,
                JsonRecordFile.GetOptionalString(o, "context", path, index) ?? "",
                JsonRecordFile.GetRequiredString(o, "response", path, index),
                JsonRecordFile.GetOptionalString(o, "category", path, index))
            : new InstructionRecord(
                instruction,
                JsonRecordFile.GetOptionalString(o, "input", path, index) ?? "",
                JsonRecordFile.GetRequiredString(o, "output", path, index),
                JsonRecordFile.GetOptionalString(o, "category", path, index));
    }
}
