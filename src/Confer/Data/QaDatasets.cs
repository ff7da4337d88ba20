using System.Text.Json;

namespace Confer.Data;

/// <summary>
/// Loaders for the QA benchmarks in their published file formats. Gold answers come out normalised the way
/// <see cref="AnswerExtractor"/> normalises predictions, so scoring is a string comparison.
/// </summary>
public static class QaDatasets
{
    /// <summary>The published formats <see cref="Load"/> reads, by the name a config gives them.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["gsm8k", "pubmedqa", "bioasq", "mmlu", "medmcqa", "medqa"];

    /// <summary>Reads <paramref name="path"/> in the published <paramref name="format"/> (one of <see cref="Formats"/>).</summary>
    /// <exception cref="ArgumentException">The format is not one of <see cref="Formats"/>.</exception>
    public static IReadOnlyList<QaRecord> Load(string format, string path) => format switch
    {
        "gsm8k" => LoadGsm8k(path),
        "pubmedqa" => LoadPubMedQa(path),
        "bioasq" => LoadBioAsqYesNo(path),
        "mmlu" => LoadMmlu(path),
        "medmcqa" => LoadMedMcqa(path),
        "medqa" => LoadMedQa(path),
        _ => throw new ArgumentException($"unknown QA format '{format}' (valid: {string.Join(", ", Formats)}).", nameof(format)),
    };

    /// <summary>GSM8K JSON Lines (<c>question</c>, <c>answer</c>): the gold number follows the last <c>####</c>
    /// (thousands separators removed); the worked solution before it becomes <see cref="QaRecord.Rationale"/>.</summary>
    public static IReadOnlyList<QaRecord> LoadGsm8k(string path) =>
        JsonRecordFile.ReadObjects(path).Select((o, i) =>
        {
            var answer = JsonRecordFile.GetRequiredString(o, "answer", path, i);
            var marker = answer.LastIndexOf("####", StringComparison.Ordinal);
            if (marker < 0) throw new InvalidDataException($"{path}: record {i}: field 'answer' has no '####' before the final number.");
            var gold = AnswerExtractor.Number.Normalize(answer[(marker + 4)..]);
            return new QaRecord(JsonRecordFile.GetRequiredString(o, "question", path, i), null, gold,
                Rationale: answer[..marker].Trim());
        }).ToList();

    /// <summary>PubMedQA (<c>ori_pqal.json</c> or MIRAGE <c>test_set.json</c>): a JSON object keyed by PMID with
    /// <c>QUESTION</c>, <c>CONTEXTS</c> and <c>final_decision</c> (yes/no/maybe). Records keep the file's key order.</summary>
    public static IReadOnlyList<QaRecord> LoadPubMedQa(string path)
    {
        using var doc = ParseJson(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: PubMedQA files are a JSON object keyed by PMID.");
        var records = new List<QaRecord>();
        var index = 0;
        foreach (var item in doc.RootElement.EnumerateObject())
        {
            var o = item.Value;
            var decision = JsonRecordFile.GetRequiredString(o, "final_decision", path, index).Trim().ToLowerInvariant();
            if (decision is not ("yes" or "no" or "maybe"))
                throw new InvalidDataException($"{path}: record {index} (PMID {item.Name}): field 'final_decision' is '{decision}', expected yes, no or maybe.");
            string? context = null;
            if (o.TryGetProperty("CONTEXTS", out var contexts) && contexts.ValueKind == JsonValueKind.Array)
                context = string.Join("\n", contexts.EnumerateArray().Select(c => c.GetString()));
            records.Add(new QaRecord(JsonRecordFile.GetRequiredString(o, "QUESTION", path, index), null, decision, context));
            index++;
        }
        return records;
    }

    /// <summary>
    /// BioASQ Task B golden file (<c>{"questions": [{id, type, body, exact_answer, …}]}</c>): the yes/no questions only
    /// (MIRAGE's BioASQ-Y/N), <c>body</c> as the question and <c>exact_answer</c> (yes or no, any case) as the gold answer.
    /// </summary>
    public static IReadOnlyList<QaRecord> LoadBioAsqYesNo(string path)
    {
        using var doc = ParseJson(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("questions", out var questions) || questions.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: a BioASQ file is a JSON object with a 'questions' array.");
        var records = new List<QaRecord>();
        var index = 0;
        foreach (var q in questions.EnumerateArray())
        {
            if (q.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: question {index} is a JSON {q.ValueKind}, expected an object.");
            if (JsonRecordFile.GetOptionalString(q, "type", path, index) == "yesno")
            {
                var answer = JsonRecordFile.GetRequiredString(q, "exact_answer", path, index).Trim().ToLowerInvariant();
                if (answer is not ("yes" or "no"))
                    throw new InvalidDataException($"{path}: question {index} (id {JsonRecordFile.GetOptionalString(q, "id", path, index)}): field 'exact_answer' is '{answer}', expected yes or no.");
                records.Add(new QaRecord(JsonRecordFile.GetRequiredString(q, "body", path, index), null, answer));
            }
            index++;
        }
        return records;
    }

    /// <summary>MedQA JSON Lines (<c>question</c>, <c>options</c> {"A": …}, <c>answer_idx</c> letter).</summary>
    public static IReadOnlyList<QaRecord> LoadMedQa(string path) =>
        JsonRecordFile.ReadObjects(path).Select((o, i) =>
        {
            if (!o.TryGetProperty("options", out var options) || options.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: record {i} is missing required field 'options' (an object of letter → text).");
            var byLetter = options.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
            for (var k = 0; k < byLetter.Count; k++)
            {
                if (byLetter[k].Name != QaRecord.OptionLetter(k))
                    throw new InvalidDataException($"{path}: record {i}: field 'options' keys must be A, B, C, … without gaps; found '{byLetter[k].Name}'.");
            }
            var answer = JsonRecordFile.GetRequiredString(o, "answer_idx", path, i).Trim();
            if (!byLetter.Any(p => p.Name == answer))
                throw new InvalidDataException($"{path}: record {i}: field 'answer_idx' is '{answer}', not one of the option letters.");
            return new QaRecord(JsonRecordFile.GetRequiredString(o, "question", path, i),
                byLetter.Select(p => p.Value.GetString() ?? "").ToArray(), answer);
        }).ToList();

    /// <summary>MedMCQA JSON Lines (<c>question</c>, <c>opa</c>–<c>opd</c>, <c>cop</c> 1-based correct option,
    /// <c>exp</c> explanation).</summary>
    public static IReadOnlyList<QaRecord> LoadMedMcqa(string path) =>
        JsonRecordFile.ReadObjects(path).Select((o, i) =>
        {
            string[] options = ["opa", "opb", "opc", "opd"];
            if (!o.TryGetProperty("cop", out var cop) || cop.ValueKind != JsonValueKind.Number || !cop.TryGetInt32(out var correct))
                throw new InvalidDataException($"{path}: record {i} is missing required field 'cop' (1-based correct option number).");
            if (correct is < 1 or > 4)
                throw new InvalidDataException($"{path}: record {i}: field 'cop' is {correct}, expected 1–4 (MedMCQA's original files are 1-based).");
            return new QaRecord(JsonRecordFile.GetRequiredString(o, "question", path, i),
                options.Select(f => JsonRecordFile.GetRequiredString(o, f, path, i)).ToArray(),
                QaRecord.OptionLetter(correct - 1),
                Rationale: JsonRecordFile.GetOptionalString(o, "exp", path, i));
        }).ToList();

    /// <summary>MMLU CSV without header: question, options A–D, answer letter.</summary>
    public static IReadOnlyList<QaRecord> LoadMmlu(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        return CsvReader.ReadRows(path).Select((row, i) =>
        {
            if (row.Length != 6)
                throw new InvalidDataException($"{path}: row {i} has {row.Length} columns; MMLU rows are question, A, B, C, D, answer.");
            var answer = row[5].Trim();
            if (answer is not ("A" or "B" or "C" or "D"))
                throw new InvalidDataException($"{path}: row {i}: answer column is '{answer}', expected A, B, C or D.");
            return new QaRecord(row[0], row[1..5], answer);
        }).ToList();
    }

    private static JsonDocument ParseJson(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }
}
