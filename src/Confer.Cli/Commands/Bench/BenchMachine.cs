using static TorchSharp.torch;

namespace Confer.Cli.Commands.Bench;

/// <summary>
/// The facts a throughput figure depends on — CPU model, cores, torch threads, allocator, date — printed with every
/// bench so a number copied into the docs carries its context.
/// </summary>
internal static class BenchMachine
{
    public static string CpuModel
    {
        get
        {
            const string cpuinfo = "/proc/cpuinfo";
            if (!File.Exists(cpuinfo)) return "unknown CPU";
            var line = File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown CPU" : line[(line.IndexOf(':') + 1)..].Trim();
        }
    }

    /// <summary>jemalloc when the launcher preloaded it (the <c>./confer</c> script does), else the C library's malloc.</summary>
    public static string Allocator =>
        Environment.GetEnvironmentVariable("LD_PRELOAD") is { } preload && preload.Contains("jemalloc", StringComparison.Ordinal)
            ? "jemalloc"
            : "glibc malloc";

    public static string Describe() =>
        $"machine: {CpuModel}, {Environment.ProcessorCount} cores, torch threads {get_num_threads()}, allocator {Allocator}, " +
        $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC";
}
