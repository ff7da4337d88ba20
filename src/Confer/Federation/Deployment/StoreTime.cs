using System.Globalization;

namespace Confer.Federation.Deployment;

/// <summary>
/// Times in server.db are UTC in round-trip ISO-8601 ("O"): fixed width, so text order is time order, and readable in
/// the sqlite3 shell.
/// </summary>
internal static class StoreTime
{
    /// <summary>A time the caller passes must be UTC; an unspecified kind is taken as UTC (as deserialisers produce it).</summary>
    public static DateTime Utc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Local => throw new ArgumentException($"Expected a UTC time, got local time {time:O}; pass DateTime.UtcNow or .ToUniversalTime()."),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        _ => time,
    };

    public static string Stamp(DateTime utc) => Utc(utc).ToString("O", CultureInfo.InvariantCulture);

    public static DateTime Parse(string stamp) => DateTime.ParseExact(stamp, "O", CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
