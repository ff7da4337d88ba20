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

    /// <summary>
    /// The allocator with its settings, for the machine line: jemalloc's <c>MALLOC_CONF</c> changes both speed and peak
    /// memory (docs/performance.md), so a figure without it cannot be reproduced.
    /// </summary>
    public static string AllocatorWithSettings =>
        Allocator == "jemalloc" && Environment.GetEnvironmentVariable("MALLOC_CONF") is { Length: > 0 } conf
            ? $"jemalloc (MALLOC_CONF={conf})"
            : Allocator;

    /// <summary>
    /// libgomp's wait policy and spin count. They decide what an idle OpenMP thread does: spin (the default, fast on an
    /// idle machine), sleep (<c>PASSIVE</c>, robust when another process shares the cores), or spin a bounded number of
    /// times first (<c>GOMP_SPINCOUNT</c>). See docs/performance.md.
    /// </summary>
    public static string OmpWaitPolicy
    {
        get
        {
            var policy = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is { Length: > 0 } p ? p : "default";
            return Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is { Length: > 0 } spins ? $"{policy}, GOMP_SPINCOUNT {spins}" : policy;
        }
    }

    /// <summary>The 1-minute load average when the bench started: near 0 means the machine was otherwise idle.</summary>
    public static string LoadAverage =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    public static string Describe() =>
        $"machine: {CpuModel}, {Environment.ProcessorCount} cores, torch threads {get_num_threads()}, allocator {AllocatorWithSettings}, " +
        $"OMP_WAIT_POLICY {OmpWaitPolicy}, load average {LoadAverage} at start, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC";
}
