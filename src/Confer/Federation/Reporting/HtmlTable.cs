using System.Net;
using System.Text;

namespace Confer.Federation.Reporting;

/// <summary>
/// A plain HTML table whose every cell is HTML-escaped, so text from run files (client ids, category names) cannot
/// inject markup. Columns from <c>numericFrom</c> on are right-aligned, the usual shape of a label column plus numbers.
/// All-empty headers give a table without a header row (a key/value list).
/// </summary>
internal sealed class HtmlTable(IReadOnlyList<string> headers, int numericFrom = 1)
{
    private readonly List<(IReadOnlyList<string> Cells, bool Total)> _rows = [];

    public int RowCount => _rows.Count;

    public HtmlTable Row(params string[] cells) => Add(cells, total: false);

    /// <summary>A summary row (a mean or a total), set apart from the data rows.</summary>
    public HtmlTable TotalRow(params string[] cells) => Add(cells, total: true);

    public void WriteTo(StringBuilder html)
    {
        html.Append("<table>\n");
        if (headers.Any(h => h.Length > 0))
        {
            html.Append("<thead><tr>");
            for (var i = 0; i < headers.Count; i++) Cell(html, "th", headers[i], i);
            html.Append("</tr></thead>\n");
        }
        html.Append("<tbody>\n");
        foreach (var (cells, total) in _rows)
        {
            html.Append(total ? "<tr class=\"total\">" : "<tr>");
            for (var i = 0; i < cells.Count; i++) Cell(html, "td", cells[i], i);
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
    }

    private HtmlTable Add(string[] cells, bool total)
    {
        if (cells.Length != headers.Count)
            throw new ArgumentException($"A row has {cells.Length} cells; the table has {headers.Count} columns ({string.Join(", ", headers)}).", nameof(cells));
        _rows.Add((cells, total));
        return this;
    }

    private void Cell(StringBuilder html, string tag, string text, int column) =>
        html.Append('<').Append(tag).Append(column >= numericFrom ? " class=\"n\">" : ">")
            .Append(WebUtility.HtmlEncode(text)).Append("</").Append(tag).Append('>');
}
