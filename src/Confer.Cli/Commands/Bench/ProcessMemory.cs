namespace Confer.Cli.Commands.Bench;

/// <summary>Resident-set figures of this process from <c>/proc/self/status</c> (Linux), in bytes; 0 where unavailable.</summary>
internal static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM): what the machine had to provide at the worst moment.</summary>
    public static long PeakRss => Read("VmHWM:");

    /// <summary>Current resident set size (VmRSS).</summary>
    public static long Rss => Read("VmRSS:");

    private static long Read(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return 0;
        foreach (var line in File.ReadLines(status))
        {
            if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
            // "VmHWM:\t  123456 kB"
            var parts = line[field.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }

    public static string Mib(long bytes, int decimals = 0) => (bytes / (1024.0 * 1024.0)).ToString("F" + decimals, System.Globalization.CultureInfo.InvariantCulture) + " MiB";
}
