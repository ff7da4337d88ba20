using System.CommandLine;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench</c>: throughput measurements on this machine — matmul and memory bandwidth, LoRA training,
/// generation, federated aggregation, the deployment's transport, tokenization, the update codecs, secure aggregation's overhead — each ending in a one-line summary for docs/performance.md.
/// </summary>
internal static class BenchCommand
{
    public static Command Create() => new("bench", "Measure throughput on this machine (matmul, train, generate, aggregate, transfer, clients, tokenize, codec, secagg).")
    {
        BenchMatmulCommand.Create(),
        BenchTrainCommand.Create(),
        BenchGenerateCommand.Create(),
        BenchAggregateCommand.Create(),
        BenchTransferCommand.Create(),
        BenchClientsCommand.Create(),
        BenchTokenizeCommand.Create(),
        BenchCodecCommand.Create(),
        BenchSecAggCommand.Create(),
    };

    /// <summary>The <c>--config</c> option shared by the model benches.</summary>
    public static Option<string> Config(string defaultName) => new("--config", "-c")
    {
        Description = "model size: S (vocab 4096, d 256, 4 layers, seq 256, batch 8), M (vocab 32000, d 512, 8 layers, seq 512, batch 4), " +
                      "T (stories260K shape: d 64, 5 layers)",
        DefaultValueFactory = _ => defaultName,
    };
}
