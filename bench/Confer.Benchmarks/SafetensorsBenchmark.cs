using BenchmarkDotNet.Attributes;
using Confer.Models;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Benchmarks;

/// <summary>
/// Safetensors write (temp file, fsync, rename) and read of a 64 MiB <see cref="NamedTensors"/>: 16 fp32 tensors of
/// 1,024 × 1,024, a checkpoint-like mix of sizes being irrelevant to a bandwidth-bound format.
/// </summary>
[MemoryDiagnoser(displayGenColumns: false)]
public class SafetensorsBenchmark
{
    private NamedTensors _tensors = null!;
    private string _directory = null!;
    private string _savePath = null!;
    private string _loadPath = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("confer-bench-").FullName;
        _savePath = Path.Combine(_directory, "save.safetensors");
        _loadPath = Path.Combine(_directory, "load.safetensors");
        var generator = new Generator(3);
        _tensors = new NamedTensors();
        for (var i = 0; i < 16; i++) _tensors.Add($"model.layers.{i}.mlp.up_proj.weight", randn([1024, 1024], generator: generator));
        SafetensorsFile.Save(_loadPath, _tensors);
    }

    [Benchmark(Description = "SafetensorsFile.Save 64 MiB")]
    public void Save() => SafetensorsFile.Save(_savePath, _tensors);

    [Benchmark(Description = "SafetensorsFile.Load 64 MiB")]
    public long Load()
    {
        using var loaded = SafetensorsFile.Load(_loadPath);
        return loaded.ByteCount;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _tensors.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
