namespace Confer.Cli.Commands.Bench;

/// <summary>Resident-set figures of a process from <c>/proc/&lt;pid&gt;/status</c> (Linux), in bytes; 0 where unavailable.</summary>
internal static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM) of this process: what the machine had to provide at the worst moment.</summary>
    public static long PeakRss => Read("self", "VmHWM:");

    /// <summary>Current resident set size (VmRSS) of this process.</summary>
    public static long Rss => Read("self", "VmRSS:");

    /// <summary>Current resident set size (VmRSS) of another process, e.g. a server the bench started.</summary>
    public static long RssOf(int pid) => Read(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "VmRSS:");

    /// <summary>Peak resident set size (VmHWM) of another process.</summary>
    public static long PeakRssOf(int pid) => Read(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "VmHWM:");

    private static long Read(string process, string field)
    {
        var status = $"/proc/{process}/status";
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
