using System.Text;

namespace Confer.Data;

/// <summary>
/// Minimal CSV reader (quoted fields, doubled quotes, newlines inside quotes), enough for MMLU, reading malformed
/// quoting as Python's <c>csv</c> module does (the reader every MMLU loader uses): a quote opens a quoted field only
/// as its first character — elsewhere it is a literal character (MMLU's college_medicine_val.csv has a question
/// ending in a stray <c>"</c>) — and characters after a closing quote belong to the same field.
/// </summary>
internal static class CsvReader
{
    public static List<string[]> ReadRows(string path)
    {
        var text = File.ReadAllText(path);
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var fieldStart = true;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else quoted = false;
                continue;
            }
            if (c == '"' && fieldStart) quoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); fieldStart = true; continue; }
            else if (c == '\n' || c == '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                EndRow();
                fieldStart = true;
                continue;
            }
            else field.Append(c);
            fieldStart = false;
        }
        if (quoted) throw new InvalidDataException($"{path}: unterminated quoted field at end of file.");
        EndRow();
        return rows;

        void EndRow()
        {
            row.Add(field.ToString());
            field.Clear();
            if (row.Count > 1 || row[0].Length > 0) rows.Add(row.ToArray()); // skip blank lines
            row.Clear();
        }
    }
}
