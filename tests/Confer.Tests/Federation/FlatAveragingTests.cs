using Confer.Federation;
using Confer.Federation.Strategies;
using Confer.Models;
using Confer.Peft;
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
    public void FedAvg_round_equals_the_per_tensor_average_bit_for_bit_and_shares_no_storage_with_the_updates()
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
        var oracles = initial.Names.ToDictionary(n => n, n => TensorMath.WeightedSum(clients.Select(a => a[n]).ToList(), weights));
        foreach (var name in initial.Names) Assert.Equal(Bits(oracles[name]), Bits(strategy.GlobalAdapter[name]));
        // The average was written into the global adapter's own buffer: changing an update afterwards changes nothing.
        foreach (var a in clients)
            foreach (var (_, t) in a) t.fill_(7f);
        foreach (var name in initial.Names) Assert.Equal(Bits(oracles[name]), Bits(strategy.GlobalAdapter[name]));
        foreach (var o in oracles.Values) o.Dispose();
    }

    [Fact]
    public void FedAvg_rounds_from_packed_updates_equal_the_per_tensor_average_across_rounds_and_resume()
    {
        using var g = new Generator(26);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        var settings = new FederationSettings { ClientIds = ClientIds(2), LoraRank = 8, LoraAlpha = 16 };
        using var strategy = Create("fedavg", initial, settings);
        for (var round = 1; round <= 2; round++)
        {
            strategy.ConfigureTrain(round, ["c0", "c1"]);
            using var a0 = RandomAdapter(g, 8, Modules);
            using var a1 = RandomAdapter(g, 8, Modules);
            using var p0 = a0.PackedCopy()!;
            using var p1 = a1.PackedCopy()!;
            strategy.CheckUpdate(Update("c0", p0, 30));
            strategy.CheckUpdate(Update("c1", p1, 10));
            strategy.AggregateTrain(round, [Update("c0", p0, 30), Update("c1", p1, 10)]);
            foreach (var name in initial.Names)
            {
                using var oracle = TensorMath.WeightedSum([a0[name], a1[name]], [0.75, 0.25]);
                Assert.Equal(Bits(oracle), Bits(strategy.GlobalAdapter[name]));
            }
        }
        // A resumed server (state imported into a fresh strategy) continues from the same global adapter.
        using var state = strategy.ExportState();
        using var resumed = Create("fedavg", initial, settings);
        resumed.ImportState(state);
        foreach (var name in initial.Names) Assert.Equal(Bits(strategy.GlobalAdapter[name]), Bits(resumed.GlobalAdapter[name]));
    }

    [Fact]
    public void Packed_adapters_are_read_in_place_and_average_bit_for_bit()
    {
        using var g = new Generator(23);
        var adapters = Enumerable.Range(0, 4).Select(_ => RandomAdapter(g, 8, Modules)).ToList();
        var packed = adapters.Select(a => a.PackedCopy()!).ToList();
        try
        {
            double[] weights = [0.4, 0.1, 0.3, 0.2];
            var names = adapters[0].Names;
            var before = packed.Select(p => Bits(p.Flat!)).ToList();
            var flat = TensorMath.WeightedSumFlat(packed, names, weights);
            foreach (var name in names)
            {
                using var oracle = TensorMath.WeightedSum(adapters.Select(a => a[name]).ToList(), weights);
                Assert.Equal(Bits(oracle), Bits(flat[name]));
                flat[name].Dispose();
            }
            for (var k = 0; k < packed.Count; k++) Assert.Equal(before[k], Bits(packed[k].Flat!)); // inputs untouched
        }
        finally
        {
            foreach (var a in adapters.Concat(packed)) a.Dispose();
        }
    }

    [Fact]
    public void A_packed_copy_mirrors_its_source_until_the_map_changes()
    {
        using var g = new Generator(24);
        using var adapter = RandomAdapter(g, 8, Modules);
        using var packed = adapter.PackedCopy()!;
        Assert.Equal(adapter.Names, packed.Names);
        Assert.Equal(adapter.ElementCount, packed.Flat!.numel());
        long offset = 0;
        foreach (var (name, t) in adapter)
        {
            Assert.Equal(t.shape, packed[name].shape);
            Assert.Equal(Bits(t), Bits(packed[name]));
            using var segment = packed.Flat.narrow(0, offset, t.numel());
            Assert.Equal(Bits(t.reshape(-1)), Bits(segment));
            offset += t.numel();
        }
        packed.Replace(packed.Names[0], zeros(packed[packed.Names[0]].shape));
        Assert.Null(packed.Flat); // a replaced tensor is no longer in the buffer, so the buffer no longer speaks for the map

        using var mixed = new NamedTensors();
        mixed.Add("a", ones(3));
        mixed.Add("b", ones(3, dtype: ScalarType.Float64));
        Assert.Null(mixed.PackedCopy()); // converting would hide the dtype the sender used
    }

    [Fact]
    public void A_packed_update_holding_NaN_is_refused_naming_the_tensor()
    {
        using var g = new Generator(25);
        using var initial = RandomAdapter(g, 8, Modules, zeroB: true);
        using var strategy = Create("fedavg", initial, new() { ClientIds = ClientIds(2), LoraRank = 8, LoraAlpha = 16 });
        strategy.ConfigureTrain(1, ["c0", "c1"]);
        using var source = RandomAdapter(g, 8, Modules);
        using var bad = source.PackedCopy()!;
        var key = LoraKeys.B("layers.1.up_proj");
        bad[key][3, 2] = float.NaN;
        var e = Assert.Throws<InvalidClientUpdateException>(() => strategy.CheckUpdate(Update("c0", bad, 10)));
        Assert.Contains(key, e.Message);
    }
}
