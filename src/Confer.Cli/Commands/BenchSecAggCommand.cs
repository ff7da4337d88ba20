using System.CommandLine;
using System.Globalization;
using Confer.Cli.Commands.Bench;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench secagg</c>: what secure aggregation adds to a round against plain FedAvg, for 10 and 50 clients on
/// a config-M client update (LoRA r = 8 on every linear layer) or <c>--params N</c>: the time of each phase on a client
/// and on the server, and the bytes each client sends and receives, with the real key agreement, Shamir shares, masks
/// and unmasking; <c>--dropout</c> adds a round where one client drops after sharing keys and the server recovers.
/// </summary>
internal static class BenchSecAggCommand
{
    public static Command Create()
    {
        var clients = new Option<int[]>("--clients") { Description = "clients per round (repeatable; default: 10 50)", AllowMultipleArgumentsPerToken = true };
        var parameters = new Option<long?>("--params") { Description = "size of the update in fp32 parameters, as one tensor (default: a config-M client's update, LoRA r=8 on every linear layer, 112 tensors)" };
        var dropout = new Option<bool>("--dropout") { Description = "also run each round with one client dropping after sharing keys (the server recovers its mask key)" };
        var command = new Command("secagg",
            "Secure-aggregation overhead per round against plain FedAvg: client and server time per phase, bytes up and down per client (real P-256 keys, Shamir shares, AES-CTR masks).")
        {
            clients, parameters, dropout,
        };
        command.SetAction(parse =>
        {
            var counts = parse.GetValue(clients) is { Length: > 0 } c ? c : [10, 50];
            if (counts.Any(n => n < 3)) throw new ArgumentException("--clients: secure aggregation needs at least 3 clients (a threshold above half of them, below all).");
            var size = parse.GetValue(parameters);
            if (size is < 1) throw new ArgumentException("--params must be ≥ 1.");
            System.Console.WriteLine(BenchMachine.Describe());
            var load = MachineLoadMonitor.Start();
            using var start = size is { } n ? CodecBench.Tensor(n) : CodecBench.Adapter(BenchModel.Parse("M"), TrainingBench.LoraRank);
            using var trained = Trained(start);
            var what = size is null
                ? $"a config-M client's update, LoRA r={TrainingBench.LoraRank} on every linear layer: {start.Count} fp32 tensors, {start.ElementCount:N0} parameters ({start.ByteCount / 1e6:F2} MB)"
                : $"one fp32 tensor of {start.ElementCount:N0} parameters ({start.ByteCount / 1e6:F2} MB)";
            System.Console.WriteLine($"update: {what}; clip range 8, threshold ⌊n/2⌋ + 1, weights n_k/cap masked with the update");
            System.Console.WriteLine("one round; clients run one after another in this process (a client's time is its own cost, the server's the whole round's);");
            System.Console.WriteLine("times in ms as wall (CPU of the process); bytes are tensor bytes as the round's traffic ledger counts them, per client (mean over the n);");
            System.Console.WriteLine("'vs plain' compares with plain FedAvg under the same dropout (the adapter down and up, nothing for a client that dropped before its task)");
            SecAggBench.Run(start, trained, 3, dropout: false); // warm-up: JIT, first AES and ECDH calls

            System.Console.WriteLine($"  {"clients",7} {"dropped",7} | {"client keys",17} {"client mask+encode",19} {"client reveal",17} | {"server relay",17} {"server aggregate",17} {"server unmask",17} {"plain average",14} | {"up/client",12} {"down/client",12} {"vs plain",16} | {"max |err|",9}");
            var lines = new List<string>();
            foreach (var k in counts)
                foreach (var drop in parse.GetValue(dropout) ? new[] { false, true } : [false])
                {
                    var r = SecAggBench.Run(start, trained, k, drop);
                    var plain = AggregationBench.AveragingOnlySeconds(start, k - r.Dropped, repeats: 3, flat: true);
                    // Plain FedAvg with the same dropout: the dropped client neither gets the task nor sends an update.
                    var plainBytes = (double)start.ByteCount * (k - r.Dropped) / k;
                    var overheadUp = r.UpBytes / plainBytes - 1;
                    var overheadDown = r.DownBytes / plainBytes - 1;
                    System.Console.WriteLine($"  {k,7} {r.Dropped,7} | {Ms(r.ClientKeys),17} {Ms(r.ClientMask),19} {Ms(r.ClientReveal),17} | {Ms(r.ServerRelay),17} {Ms(r.ServerAggregate),17} " +
                                             $"{Ms(r.ServerUnmask),17} {plain * 1000,14:F1} | {r.UpBytes,12:N0} {r.DownBytes,12:N0} {$"{Percent(overheadUp)} / {Percent(overheadDown)}",16} | {r.MaxError,9:G2}");
                    lines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{k} clients{(drop ? " (1 dropout)" : "")}: client {(r.ClientKeys.Wall + r.ClientMask.Wall + r.ClientReveal.Wall) * 1000:F0} ms, server {(r.ServerRelay.Wall + r.ServerAggregate.Wall + r.ServerUnmask.Wall) * 1000:F0} ms " +
                        $"vs plain averaging {plain * 1000:F0} ms, bytes {Percent(overheadUp)} up / {Percent(overheadDown)} down"));
                }
            System.Console.WriteLine($"plain FedAvg per client: {start.ByteCount:N0} B down and {start.ByteCount:N0} B up; its client side adds nothing (identity codec)");
            System.Console.WriteLine(load.Describe());
            System.Console.WriteLine($"summary: secure aggregation per round, {start.ElementCount:N0}-parameter update: {string.Join("; ", lines)}; {get_num_threads()} threads");
            return 0;
        });
        return command;
    }

    /// <summary>The start plus a small change (σ = 10⁻³), seeded: what a client sends back after training.</summary>
    private static NamedTensors Trained(NamedTensors start)
    {
        var generator = new Generator(7);
        var trained = new NamedTensors();
        foreach (var (name, t) in start) trained.Add(name, t.add(randn(t.shape, generator: generator).mul_(1e-3)));
        return trained;
    }

    private static string Percent(double share) => share.ToString("+0.0 %;-0.0 %", CultureInfo.InvariantCulture);

    private static string Ms(SecAggBench.Span s) => string.Create(CultureInfo.InvariantCulture, $"{s.Wall * 1000:F1} ({s.Cpu * 1000:F0})");
}
