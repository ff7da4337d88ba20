using System.Text;

namespace Confer.Data;

/// <summary>Minimal RFC 4180 CSV reader (quoted fields, doubled quotes, newlines inside quotes), enough for MMLU.</summary>
internal static class CsvReader
{
    public static List<string[]> ReadRows(string path)
    {
        var text = File.ReadAllText(path);
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); }
            else if (c == '\n' || c == '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                EndRow();
            }
            else field.Append(c);
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
