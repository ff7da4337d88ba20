using Confer.Federation;
using Confer.Federation.Strategies;
using Confer.Models;
using Confer.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>Builders for small real adapters, updates and strategies used by the federation tests.</summary>
internal static class FedTestKit
{
    public static string[] ClientIds(int count) => Enumerable.Range(0, count).Select(i => $"c{i}").ToArray();

    public static Tensor Matrix(float[,] values) => tensor(values);

    /// <summary>An adapter from explicit (A, B) pairs, one per module path.</summary>
    public static NamedTensors Adapter(params (string Path, Tensor A, Tensor B)[] modules)
    {
        var adapter = new NamedTensors();
        foreach (var (path, a, b) in modules)
        {
            adapter.Add(LoraKeys.A(path), a);
            adapter.Add(LoraKeys.B(path), b);
        }
        return adapter;
    }

    /// <summary>Random A and B (normal) at <paramref name="rank"/> for each (path, d_in, d_out); B = 0 when asked (PEFT init).</summary>
    public static NamedTensors RandomAdapter(Generator g, int rank, (string Path, long DIn, long DOut)[] modules, bool zeroB = false)
    {
        var adapter = new NamedTensors();
        foreach (var (path, dIn, dOut) in modules)
        {
            adapter.Add(LoraKeys.A(path), randn([rank, dIn], generator: g));
            adapter.Add(LoraKeys.B(path), zeroB ? zeros(dOut, rank) : randn([dOut, rank], generator: g));
        }
        return adapter;
    }

    public static ClientUpdate Update(string id, NamedTensors adapter, long examples, double loss = 1.0) =>
        new(id, adapter, examples, new Dictionary<string, double> { ["train_loss"] = loss });

    public static Strategy Create(string name, NamedTensors initial, FederationSettings settings)
    {
        var strategy = StrategyRegistry.Create(name);
        strategy.Initialize(initial, settings);
        return strategy;
    }

    /// <summary>s·B·A of one module of an adapter.</summary>
    public static Tensor Product(NamedTensors adapter, string path, double scale) =>
        adapter[LoraKeys.B(path)].to(ScalarType.Float64).matmul(adapter[LoraKeys.A(path)].to(ScalarType.Float64)).mul(scale);

    public static double MaxAbsDiff(Tensor a, Tensor b) => a.to(ScalarType.Float64).sub(b.to(ScalarType.Float64)).abs().max().item<double>();

    /// <summary>‖a − b‖_F / max(‖b‖_F, tiny).</summary>
    public static double RelativeError(Tensor a, Tensor b)
    {
        var b64 = b.to(ScalarType.Float64);
        return a.to(ScalarType.Float64).sub(b64).norm().item<double>() / Math.Max(b64.norm().item<double>(), 1e-30);
    }

    public static byte[] Bits(Tensor t) => t.contiguous().bytes.ToArray();

    public static void AssertBitwiseEqual(NamedTensors expected, NamedTensors actual)
    {
        Assert.Equal(expected.Names, actual.Names);
        foreach (var name in expected.Names) Assert.Equal(Bits(expected[name]), Bits(actual[name]));
    }
}
