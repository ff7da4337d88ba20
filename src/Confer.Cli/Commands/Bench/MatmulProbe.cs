using System.Diagnostics;
using static TorchSharp.torch;

namespace Confer.Cli.Commands.Bench;

/// <summary>One matrix product [m, k] × [k, n] to time, with the label it is reported under.</summary>
internal sealed record MatmulShape(string Label, long M, long K, long N)
{
    public double Flops => 2.0 * M * K * N;
}

/// <summary>A measured throughput for one <see cref="MatmulShape"/>.</summary>
internal sealed record MatmulResult(MatmulShape Shape, double Seconds, int Repeats)
{
    public double GflopsPerSecond => Shape.Flops / Seconds / 1e9;
}

/// <summary>
/// Measures matmul throughput (fp32 unless told otherwise) the way the models compute it: <c>linear(x, W)</c> = x·Wᵀ with x [m, k] and the
/// weight stored [n, k], on random data, after one warm-up product. Each shape repeats until it has run for a minimum
/// time, and the mean time per product is reported. The highest figure over the square and model shapes is the
/// "measured matmul peak" that training efficiency is quoted against.
/// </summary>
internal static class MatmulProbe
{
    /// <summary>Square sizes that show the machine's best rate independent of any model.</summary>
    public static IReadOnlyList<MatmulShape> SquareShapes => [new("512³", 512, 512, 512), new("1024³", 1024, 1024, 1024), new("2048³", 2048, 2048, 2048)];

    /// <summary>The products one training step of <paramref name="model"/> runs: rows = batch·seq tokens.</summary>
    public static IReadOnlyList<MatmulShape> ModelShapes(BenchModel model)
    {
        var rows = model.BatchTokens;
        long d = model.Config.HiddenSize, f = model.Config.IntermediateSize, v = model.Config.VocabSize;
        var p = model.Name;
        return
        [
            new($"{p} q/o  [{rows}×{d}]·[{d}×{d}]", rows, d, d),
            new($"{p} gate/up [{rows}×{d}]·[{d}×{f}]", rows, d, f),
            new($"{p} down [{rows}×{f}]·[{f}×{d}]", rows, f, d),
            new($"{p} lm_head [{rows}×{d}]·[{d}×{v}]", rows, d, v),
        ];
    }

    public static MatmulResult Measure(MatmulShape shape, double minSeconds = 0.4, ScalarType dtype = ScalarType.Float32)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var x = randn(shape.M, shape.K, dtype: dtype);
        var w = randn(shape.N, shape.K, dtype: dtype);
        nn.functional.linear(x, w).Dispose(); // warm-up: first-touch of the output pages, kernel selection
        var clock = Stopwatch.StartNew();
        var repeats = 0;
        while (repeats < 2 || clock.Elapsed.TotalSeconds < minSeconds)
        {
            nn.functional.linear(x, w).Dispose();
            repeats++;
        }
        return new MatmulResult(shape, clock.Elapsed.TotalSeconds / repeats, repeats);
    }

    /// <summary>Runs every shape and returns the results; the peak is their maximum.</summary>
    public static IReadOnlyList<MatmulResult> MeasureAll(IEnumerable<MatmulShape> shapes, double minSeconds = 0.4) =>
        shapes.Select(s => Measure(s, minSeconds)).ToList();

    public static MatmulResult Peak(IReadOnlyList<MatmulResult> results) => results.MaxBy(r => r.GflopsPerSecond)!;
}
