namespace Confer.Federation.Reporting;

/// <summary>
/// Picks a sans-serif font for the plots. ScottPlot's own default here is a serif face, and with no fonts installed it
/// draws no text at all without failing; so a missing font leaves ScottPlot's default and the report still renders.
/// </summary>
internal static class PlotFonts
{
    private static readonly string[] Preferred = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial"];

    private static readonly Lazy<string?> Chosen = new(() =>
    {
        // GetTypeface falls back to some installed face for an unknown family, so a match means the family itself.
        var family = Preferred.FirstOrDefault(f => ScottPlot.Fonts.GetTypeface(f, false, false)?.FamilyName == f);
        if (family is not null) ScottPlot.Fonts.Default = family;
        return family;
    });

    /// <summary>Sets <c>ScottPlot.Fonts.Default</c> once per process; returns the family used, or null for ScottPlot's default.</summary>
    public static string? Configure() => Chosen.Value;
}
