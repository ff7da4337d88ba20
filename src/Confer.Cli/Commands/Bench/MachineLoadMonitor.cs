using System.Globalization;

namespace Confer.Cli.Commands.Bench;

/// <summary>
/// Measures how much CPU <em>other</em> processes used while a bench ran, from the kernel's counters: all busy CPU time
/// (<c>/proc/stat</c>) minus this process's own (<c>/proc/self/stat</c>), as a share of all cores over the wall time.
/// On a shared 2-core machine this is what says whether a figure was taken on an idle machine.
/// </summary>
internal sealed class MachineLoadMonitor
{
    private readonly (long Busy, long Total) _machine;
    private readonly long _self;

    private MachineLoadMonitor((long, long) machine, long self)
    {
        _machine = machine;
        _self = self;
    }

    public static MachineLoadMonitor Start() => new(MachineTicks(), SelfTicks());

    /// <summary>The share of the machine's CPU capacity used by other processes since <see cref="Start"/> (0–1), or null off Linux.</summary>
    public double? OthersShare()
    {
        var (busy, total) = MachineTicks();
        var elapsed = total - _machine.Total;
        if (elapsed <= 0) return null;
        var others = busy - _machine.Busy - (SelfTicks() - _self);
        return Math.Clamp((double)others / elapsed, 0, 1);
    }

    public string Describe() => OthersShare() is { } share
        ? $"other processes used {share:P0} of the machine's CPU during this bench{(share > 0.1 ? " (NOT idle: figures are low)" : " (otherwise idle)")}"
        : "machine load unknown";

    /// <summary>(busy, total) jiffies summed over all CPUs.</summary>
    private static (long Busy, long Total) MachineTicks()
    {
        if (!File.Exists("/proc/stat")) return (0, 0);
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal (guest time is already inside user).
        long idle = fields[3] + fields[4];
        long total = fields.Take(8).Sum();
        return (total - idle, total);
    }

    /// <summary>This process's user + system jiffies.</summary>
    private static long SelfTicks()
    {
        if (!File.Exists("/proc/self/stat")) return 0;
        var stat = File.ReadAllText("/proc/self/stat");
        // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture);
    }
}
