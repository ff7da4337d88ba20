using System.Globalization;

namespace Confer.Federation.Reporting;

/// <summary>How numbers appear in the report: invariant culture, fixed decimals, decimal (SI) byte units as in the plots.</summary>
internal static class ReportFormat
{
    public const string Missing = "—";

    private static readonly string[] ByteUnits = ["B", "kB", "MB", "GB", "TB"];

    public static string Loss(double? loss) => loss is { } l ? l.ToString("F4", CultureInfo.InvariantCulture) : Missing;

    public static string Perplexity(double? ppl) => ppl is { } p ? p.ToString("F2", CultureInfo.InvariantCulture) : Missing;

    public static string Signed(double? delta) => delta is { } d ? d.ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture) : Missing;

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Percent(long part, long whole) => (100.0 * part / whole).ToString("F1", CultureInfo.InvariantCulture) + " %";

    public static string Seconds(double s) => s.ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>Bytes in the largest unit that keeps the number at or above 1, e.g. <c>1.23 MB</c>.</summary>
    public static string Bytes(long bytes)
    {
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1000 && unit < ByteUnits.Length - 1)
        {
            value /= 1000;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : $"{value.ToString("F2", CultureInfo.InvariantCulture)} {ByteUnits[unit]}";
    }

    /// <summary>Human units plus the exact count, for totals a reader may want to compare exactly.</summary>
    public static string BytesExact(long bytes) => bytes < 1000 ? Bytes(bytes) : $"{Bytes(bytes)} ({Count(bytes)} B)";

    public static double Megabytes(long bytes) => bytes / 1e6;

    public static string Duration(TimeSpan? span)
    {
        if (span is not { } t) return Missing;
        if (t.TotalSeconds < 60) return $"{t.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s";
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes:D2}m {t.Seconds:D2}s" : $"{t.Minutes}m {t.Seconds:D2}s";
    }

    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : Missing;

    public static string Number(long? n) => n is { } v ? v.ToString(CultureInfo.InvariantCulture) : Missing;
}
