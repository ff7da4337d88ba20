using BenchmarkDotNet.Running;

namespace Confer.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project bench/Confer.Benchmarks -- --filter '*' --job short</c> (or
/// <c>--job dry</c> for a smoke run). Benchmarks always run in process (<c>--inProcess</c> is added): a separately
/// generated BenchmarkDotNet project would copy TorchSharp's native library without the build's GLIBCXX patch and fail
/// to load it on Debian 12.
/// </summary>
internal static class Program
{
    private static void Main(string[] args)
    {
        string[] inProcess = args.Contains("--inProcess", StringComparer.OrdinalIgnoreCase) ? args : [.. args, "--inProcess"];
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(inProcess);
    }
}
