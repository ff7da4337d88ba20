using System.CommandLine;
using Confer.Cli.Commands.Bench;
using Spectre.Console;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench transfer</c>: MB/s of an update pushed to, and a task fetched from, a TLS gRPC endpoint on
/// 127.0.0.1 through the deployment's own framing, against the goal of ≥ 400 MB/s, with the in-memory framing cost
/// alone beside it so the reader sees what the network path adds.
/// </summary>
internal static class BenchTransferCommand
{
    /// <summary>The goal of issue #4, MB/s (10⁶ bytes) for a 200 MB update over loopback with TLS.</summary>
    private const double GoalMegabytesPerSecond = 400;

    public static Command Create()
    {
        var megabytes = new Option<double>("--mb") { Description = "update size in MB (10⁶ bytes), in whole layers of a 7B-shaped LoRA r=16", DefaultValueFactory = _ => 200 };
        var repeats = new Option<int>("--repeat") { Description = "timed transfers each way after a cold, verified one and two warm-ups (the median is reported)", DefaultValueFactory = _ => 3 };
        var command = new Command("transfer", "Update upload and task download MB/s over loopback gRPC with TLS, and the framing cost alone.") { megabytes, repeats };
        command.SetAction(async (parse, ct) =>
        {
            var mb = parse.GetValue(megabytes);
            var n = parse.GetValue(repeats);
            if (mb <= 0 || n < 1) throw new ArgumentException("--mb must be > 0 and --repeat ≥ 1.");
            System.Console.WriteLine(BenchMachine.Describe());
            var load = MachineLoadMonitor.Start();
            using var payload = LoraShapedTensors.Create(mb);
            System.Console.WriteLine($"update: {LoraShapedTensors.Describe(payload)}; MB = 10⁶ bytes");

            var codec = FrameCodecBench.Run(payload, n);
            var network = await TransferBench.RunAsync(payload, n, ct);

            var table = new Table().AddColumn("stage").AddColumn(new TableColumn("median").RightAligned()).AddColumn(new TableColumn("rate").RightAligned())
                .AddColumn("note");
            Row(table, "frame write (tensor → frames, CRC-32)", codec.WriteSeconds, codec, $"{codec.Frames} frames");
            Row(table, "protobuf serialise", codec.SerializeSeconds, codec, "what gRPC does to each message");
            Row(table, "protobuf parse", codec.ParseSeconds, codec, "copies each frame's bytes");
            Row(table, "frame read (frames → tensors, CRC-32)", codec.ReadSeconds, codec, "");
            Row(table, "[bold]framing alone, all four[/]", codec.TotalSeconds, codec, "both ends, one core, no network");
            Transfer(table, "[bold]upload[/] (PushUpdate, TLS)", network.Up, network.Bytes);
            Transfer(table, "[bold]download[/] (FetchTask, TLS)", network.Down, network.Bytes);
            Transfer(table, "first upload (cold: new connection, JIT)", [network.ColdUp], network.Bytes);
            Transfer(table, "first download (cold)", [network.ColdDown], network.Bytes);
            AnsiConsole.Write(table);

            var worst = Math.Min(network.UpMegabytesPerSecond, network.DownMegabytesPerSecond);
            var verdict = worst >= GoalMegabytesPerSecond ? "met" : "missed";
            System.Console.WriteLine(load.Describe());
            System.Console.WriteLine($"summary: {payload.ByteCount / 1e6:F0} MB update over loopback gRPC + TLS, median of {n}: upload {network.UpMegabytesPerSecond:F0} MB/s, " +
                                     $"download {network.DownMegabytesPerSecond:F0} MB/s (goal ≥ {GoalMegabytesPerSecond:F0}: {verdict}); framing alone " +
                                     $"{payload.ByteCount / 1e6 / codec.TotalSeconds:F0} MB/s; {Environment.ProcessorCount} cores shared by client and server");
            return 0;
        });
        return command;
    }

    private static void Row(Table table, string stage, double seconds, FrameCodecResult codec, string note) =>
        table.AddRow(stage, $"{seconds * 1000:F0} ms", $"{codec.Bytes / 1e6 / seconds:F0} MB/s", Markup.Escape(note));

    private static void Transfer(Table table, string label, IReadOnlyList<TransferTiming> timings, long bytes)
    {
        var median = TransferBenchResult.Median(timings);
        var all = timings.Count > 1 ? $"runs {string.Join(", ", timings.Select(t => $"{bytes / 1e6 / t.Seconds:F0}"))} MB/s; " : "";
        table.AddRow(label, $"{median.Seconds * 1000:F0} ms", $"{bytes / 1e6 / median.Seconds:F0} MB/s",
            Markup.Escape($"{all}{median.CpuSeconds * 1000:F0} ms CPU = {median.CoresBusy:F2} cores busy"));
    }
}
