using System.CommandLine;
using System.Globalization;
using Confer.Cli.Commands.Bench;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench clients</c>: how many concurrently connected idle clients one <c>confer server</c> holds (goal
/// ≥ 1,000), what each costs the server in memory, and how fast it still answers.
/// </summary>
internal static class BenchClientsCommand
{
    /// <summary>The goal of issue #4: idle clients one server holds.</summary>
    private const int GoalClients = 1000;

    /// <summary>Descriptors each process needs beyond one per client: runtime, libraries, listeners, pipes.</summary>
    private const int SpareDescriptors = 400;

    public static Command Create()
    {
        var clients = new Option<int>("--clients") { Description = "clients to connect, each on its own TLS connection", DefaultValueFactory = _ => GoalClients };
        var model = new Option<string>("--model", "-m") { Description = "base model folder the server runs (clients join with its fingerprint)", DefaultValueFactory = _ => "models/confer-base" };
        var command = new Command("clients", "Idle clients one real `confer server` (child process) holds: connected count, server memory per client, poll latency.")
        {
            clients, model,
        };
        command.SetAction(async (parse, ct) =>
        {
            var n = parse.GetValue(clients);
            var modelFolder = parse.GetValue(model)!;
            if (n < 2) throw new ArgumentException("--clients must be ≥ 2 (the first is the one-client baseline).");
            if (!Directory.Exists(modelFolder)) throw new ArgumentException($"--model: folder '{modelFolder}' does not exist (run from the repository root, or pass --model).");
            System.Console.WriteLine(BenchMachine.Describe());
            var (soft, hard) = OpenFileLimit();
            var needed = n + SpareDescriptors;
            // The .NET runtime raises its soft limit to the hard one at start-up, so a low `ulimit -Sn` alone does not bind.
            System.Console.WriteLine($"open-file limit of this process, inherited by the server: soft {Describe(soft)} (as raised by .NET), hard {Describe(hard)}; " +
                                     $"{n} clients need about {needed} in each of the two processes");
            if (soft < needed)
                throw new ArgumentException($"ulimit -n is {soft}, too low for {n} clients: this process and the server each hold one socket per client " +
                                            $"plus about {SpareDescriptors} other descriptors, {needed} in all. " +
                                            (hard >= needed
                                                ? $"Run `ulimit -n {needed}` first, or pass fewer --clients."
                                                : $"The hard limit {hard} is below that too: raise it (/etc/security/limits.conf, or LimitNOFILE for a service), " +
                                                  $"then `ulimit -n {needed}`; or pass at most --clients {Math.Max(0, hard - SpareDescriptors)}."));
            var load = MachineLoadMonitor.Start();
            var r = await ClientLoadBench.RunAsync(new ClientLoadOptions(n, modelFolder), System.Console.WriteLine, ct);

            var table = new Table().AddColumn("measure").AddColumn(new TableColumn("value").RightAligned()).AddColumn("note");
            table.AddRow("clients joined, long-polling", $"{r.Joined:N0} of {r.Requested:N0}", $"each its own TLS connection; joined in {r.ConnectSeconds:F1} s, {ClientLoadBench.ConnectConcurrency} at a time");
            table.AddRow("connected, per server /status", $"{r.Connected:N0}", "clients.connected");
            table.AddRow("server RSS, 1 client", ProcessMemory.Mib(r.ServerRssOneClient), "VmRSS of the server process");
            table.AddRow($"server RSS, {r.Joined:N0} clients, just joined", ProcessMemory.Mib(r.ServerRssJoined), "when the last client began polling");
            table.AddRow($"server RSS, {r.Joined:N0} clients, steady", ProcessMemory.Mib(r.ServerRssLoaded), $"one poll cycle later; peak {ProcessMemory.Mib(r.ServerPeakRss)} (VmHWM)");
            table.AddRow("server RSS per client", $"{r.ServerRssPerClient / 1024.0:F0} KiB", "growth over the 1-client baseline ÷ added clients");
            table.AddRow("server open files", $"{r.ServerOpenFiles:N0}", "/proc/<pid>/fd, sockets included");
            table.AddRow("server CPU while idle", $"{r.ServerIdleCores:P1}", "of one core, steady state (keep-alive pings, timers)");
            table.AddRow("bench RSS per client", $"{r.BenchRssPerClient / 1024.0:F0} KiB", "client side: channel, handler, connection");
            table.AddRow("poll(wait 0) p50 / p99, 1 client", $"{r.OneClient.Percentile(0.5):F2} / {r.OneClient.Percentile(0.99):F2} ms", "sequential round trips");
            table.AddRow($"poll(wait 0) p50 / p99, {r.Joined:N0} clients", $"{r.Loaded.Percentile(0.5):F2} / {r.Loaded.Percentile(0.99):F2} ms", "from random clients while the rest hold long polls");
            AnsiConsole.Write(table);
            if (r.FirstFailure is { } failure) AnsiConsole.MarkupLine($"[red]first failure:[/] {Markup.Escape(failure)}");

            var verdict = r.Connected >= GoalClients ? "met" : $"missed{(n < GoalClients ? $" (only {n} requested)" : "")}";
            System.Console.WriteLine(load.Describe());
            System.Console.WriteLine($"summary: one confer server held {r.Connected:N0} connected idle clients of {n:N0} (goal ≥ {GoalClients:N0}: {verdict}); server RSS " +
                                     $"{ProcessMemory.Mib(r.ServerRssOneClient)} with 1 client, {ProcessMemory.Mib(r.ServerRssLoaded)} with {r.Joined:N0} " +
                                     $"(≈ {r.ServerRssPerClient / 1024.0:F0} KiB per client); poll p50/p99 {r.Loaded.Percentile(0.5):F2}/{r.Loaded.Percentile(0.99):F2} ms " +
                                     $"under load vs {r.OneClient.Percentile(0.5):F2}/{r.OneClient.Percentile(0.99):F2} ms alone; ulimit -n {Describe(soft)}");
            return r.Connected == r.Joined && r.Joined == n ? 0 : 1;
        });
        return command;
    }

    /// <summary>Soft and hard <c>RLIMIT_NOFILE</c> from <c>/proc/self/limits</c> (long.MaxValue for unlimited or unknown).</summary>
    private static (long Soft, long Hard) OpenFileLimit()
    {
        const string limits = "/proc/self/limits";
        if (!File.Exists(limits)) return (long.MaxValue, long.MaxValue);
        var line = File.ReadLines(limits).FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        if (line is null) return (long.MaxValue, long.MaxValue);
        var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        static long Parse(string s) => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : long.MaxValue;
        return (Parse(fields[0]), Parse(fields[1]));
    }

    private static string Describe(long limit) => limit == long.MaxValue ? "unlimited" : limit.ToString("N0", CultureInfo.InvariantCulture);
}
