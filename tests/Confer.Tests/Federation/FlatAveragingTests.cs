using Confer.Federation.Strategies;
using Confer.Models;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>
/// FedAvg's flat-buffer averaging is bit-identical to the per-tensor form it replaced (Σ w_k θ_k, one kernel per tensor
/// per client, <see cref="TensorMath.WeightedSum"/>): the oracle is that per-tensor computation on the same inputs.
/// </summary>
public sealed class FlatAveragingTests
{
    // Odd sizes put vector tails at unaligned offsets of the flat buffer; the 512-wide pairs are config-M shaped and
    // large enough (with 7 of them) that the flat kernels split across threads.
    private static readonly (string, long, long)[] Modules =
        [("layers.0.q_proj", 7, 5), ("layers.0.v_proj", 13, 3), ("layers.1.q_proj", 512, 512), ("layers.1.up_proj", 512, 1376)];

    [Fact]
    public void Flat_average_equals_the_per_tensor_average_bit_for_bit()
    {
        using var g = new Generator(21);
        var adapters = Enumerable.Range(0, 7).Select(_ => RandomAdapter(g, 8, Modules)).ToList();
        try
        {
            double[] weights = [0.05, 0.3, 1.0 / 3, 0.1, 0.07, 0.11, 1 - (0.05 + 0.3 + 1.0 / 3 + 0.1 + 0.07 + 0.11)];
            var names = adapters[0].Names;
            var flat = TensorMath.WeightedSumFlat(adapters, names, weights);
            foreach (var name in names)
            {
                using var oracle = TensorMath.WeightedSum(adapters.Select(a => a[name]).ToList(), weights);
                Assert.Equal(oracle.shape, flat[name].shape);
                Assert.Equal(Bits(oracle), Bits(flat[name]));
                flat[name].Dispose();
            }
        }
        finally
        {
            foreach (var a in adapters) a.Dispose();
        }
    }

    [Fact]
    public void FedAvg_round_equals_the_per_tensor_average_bit_for_bit_and_owns_its_tensors()
    {
        using var g = new Generator(22);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var strategy = Create("fedavg", initial, new() { ClientIds = ClientIds(3), LoraRank = 8, LoraAlpha = 16 });
        strategy.ConfigureTrain(1, ["c0", "c1", "c2"]);
        using var a0 = RandomAdapter(g, 8, Modules);
        using var a1 = RandomAdapter(g, 8, Modules);
        using var a2 = RandomAdapter(g, 8, Modules);
        var summary = strategy.AggregateTrain(1, [Update("c0", a0, 70), Update("c1", a1, 200), Update("c2", a2, 31)]);
        var weights = new[] { "c0", "c1", "c2" }.Select(c => summary.Weights[c]).ToList();
        NamedTensors[] clients = [a0, a1, a2];
        foreach (var name in initial.Names)
        {
            using var oracle = TensorMath.WeightedSum(clients.Select(a => a[name]).ToList(), weights);
            var global = strategy.GlobalAdapter[name];
            Assert.Equal(Bits(oracle), Bits(global));
            Assert.Equal(0, global.storage_offset()); // its own storage, not a view into a shared buffer
        }
    }
}
