using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using ScottPlot;

namespace Confer.Federation.Reporting;

/// <summary>One plot of the report, rendered twice: as inline SVG for the HTML and as a PNG file under <c>plots/</c>.</summary>
internal sealed partial class ReportFigure(string title, string fileName, Plot plot, int width = 800, int height = 450) : IDisposable
{
    public string Title { get; } = title;

    /// <summary>The PNG's name inside the run's <c>plots/</c> folder.</summary>
    public string FileName { get; } = fileName;

    public byte[] Png() => plot.GetImageBytes(width, height, ImageFormat.Png);

    /// <summary>
    /// The plot as an <c>&lt;svg&gt;</c> element to inline in HTML. Ids share one namespace across a page, and a clash
    /// would make one plot clip with another's rectangle; Skia's clip-path ids (<c>cl_4</c>) come from a counter we do not
    /// control, so every id is prefixed with <paramref name="idPrefix"/>. A viewBox lets CSS scale the plot to the page.
    /// </summary>
    public string Svg(string idPrefix)
    {
        var svg = plot.GetSvgXml(width, height);
        var open = svg.IndexOf("<svg ", StringComparison.Ordinal);
        if (open < 0) throw new InvalidOperationException($"ScottPlot returned no <svg> element for '{Title}'.");
        svg = IdReference().Replace(svg[open..], m => m.Value + idPrefix);
        svg = IdDefinition().Replace(svg, m => $"id=\"{idPrefix}{m.Groups[1].Value}\"");
        var attributes = string.Create(CultureInfo.InvariantCulture,
            $"viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{WebUtility.HtmlEncode(Title)}\" ");
        return svg.Insert("<svg ".Length, attributes);
    }

    public void Dispose() => plot.Dispose();

    [GeneratedRegex(@"\bid=""([^""]+)""")]
    private static partial Regex IdDefinition();

    [GeneratedRegex(@"(url\(#|href=""#)")]
    private static partial Regex IdReference();
}
