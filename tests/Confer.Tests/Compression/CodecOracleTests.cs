using Confer.Compression;
using Confer.Federation.Clients;
using Confer.Models;
using static Confer.Tests.Compression.CodecKit;
using static TorchSharp.torch;

namespace Confer.Tests.Compression;

/// <summary>The codecs against the oracles of algorithms.md §6: exact casts, QSGD's distribution, top-k with error feedback.</summary>
public class CodecOracleTests
{
    /// <summary>§6.1 (computed): bits of each value as bf16 and as fp16, and what they decode to.</summary>
    public static TheoryData<float, ushort, ushort> CastCases => new()
    {
        { 1.0f, 0x3F80, 0x3C00 },
        { MathF.PI, 0x4049, 0x4248 },
        { 1f / 3, 0x3EAB, 0x3555 },
        { 0.1f, 0x3DCD, 0x2E66 },
    };

    [Theory]
    [MemberData(nameof(CastCases))]
    public void Fp16_and_bf16_round_to_nearest_even_as_specified(float value, ushort bf16, ushort fp16)
    {
        Assert.Equal(bf16, Bits("bf16", value));
        Assert.Equal(fp16, Bits("fp16", value));
    }

    [Fact]
    public void Fp16_and_bf16_decode_to_the_exact_values_of_their_bits()
    {
        Assert.Equal(3.140625f, Cast("bf16", MathF.PI));
        Assert.Equal(0.333984375f, Cast("bf16", 1f / 3));
        Assert.Equal(0.333251953125f, Cast("fp16", 1f / 3));
        // fp16 underflows to −0 and overflows to +∞; bf16 keeps fp32's range.
        var underflow = Cast("fp16", -2.5e-8f);
        Assert.Equal(0f, underflow);
        Assert.True(float.IsNegative(underflow));
        Assert.Equal(float.PositiveInfinity, Cast("fp16", 65520f));
        Assert.Equal(65536f, Cast("bf16", 65520f));
        Assert.True(float.IsNaN(Cast("bf16", float.NaN)));
    }

    /// <summary>
    /// §6.2 oracle: v = (3, 4), s = 4, scale ‖v‖₂ = 5: coordinate 0 is 2.5 or 3.75 with P(3.75) = 0.4, coordinate 1 is
    /// 3.75 or 5 with P(5) = 0.2; the mean is exactly v and the total variance 0.375 + 0.25 = 0.625.
    /// </summary>
    [Fact]
    public void Qsgd_with_the_l2_norm_draws_the_specified_levels_with_the_specified_probabilities()
    {
        const int draws = 20_000;
        float[] v = [3, 4];
        var q = new sbyte[2];
        int high0 = 0, high1 = 0;
        double sum0 = 0, sum1 = 0, squares = 0;
        for (var d = 0; d < draws; d++)
        {
            StochasticQuantizer.QuantizeChunk(v, 5f, 4, (ulong)d * 0x9E3779B97F4A7C15UL + 1, 0, q);
            var (x0, x1) = (q[0] * 5f / 4, q[1] * 5f / 4);
            Assert.Contains(x0, new[] { 2.5f, 3.75f });
            Assert.Contains(x1, new[] { 3.75f, 5f });
            high0 += x0 == 3.75f ? 1 : 0;
            high1 += x1 == 5f ? 1 : 0;
            (sum0, sum1) = (sum0 + x0, sum1 + x1);
            squares += (x0 - 3) * (x0 - 3) + (x1 - 4) * (x1 - 4);
        }
        // Binomial standard errors: √(0.4·0.6/n) ≈ 0.0035, √(0.2·0.8/n) ≈ 0.0028; 4 of them.
        Assert.InRange(high0 / (double)draws, 0.4 - 0.014, 0.4 + 0.014);
        Assert.InRange(high1 / (double)draws, 0.2 - 0.012, 0.2 + 0.012);
        Assert.InRange(sum0 / draws, 3 - 0.01, 3 + 0.01);
        Assert.InRange(sum1 / draws, 4 - 0.01, 4 + 0.01);
        Assert.InRange(squares / draws, 0.625 - 0.03, 0.625 + 0.03);
        Assert.True(squares / draws <= 3.125, "QSGD's bound min(n/s², √n/s)·‖v‖²");
    }

    /// <summary>
    /// §6.2 statistical oracle: the mean of 10,000 decodes of a fixed vector is within 1 % of it, per coordinate, for every
    /// quantiser. Each vector spans several chunks, and its values sit where 1 % is at least four standard errors of the
    /// 10,000-draw mean (for int2, whose only levels are 0 and the chunk's largest magnitude, that is near the largest).
    /// </summary>
    [Theory]
    [InlineData("int8", 0.2f, 1f)]
    [InlineData("int4:64", 0.5f, 1f)]
    [InlineData("int2:64", 0.97f, 1f)]
    public void Quantisers_are_unbiased_the_mean_of_10k_decodes_is_within_1_percent(string spec, float lo, float hi)
    {
        const int draws = 10_000;
        var v = Random(300, 11, lo, hi, signs: true);
        var codec = Chain(spec);
        using var message = Message("layers.0.lora_B.weight", v);
        var sum = new double[v.Length];
        for (var round = 1; round <= draws; round++)
        {
            using var decoded = RoundTrip(codec, message, Context(round));
            var x = Values(decoded["layers.0.lora_B.weight"]);
            for (var i = 0; i < v.Length; i++) sum[i] += x[i];
        }
        for (var i = 0; i < v.Length; i++)
            Assert.True(Math.Abs(sum[i] / draws - v[i]) <= 0.01 * Math.Abs(v[i]), $"{spec} coordinate {i}: mean {sum[i] / draws} vs {v[i]}");
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("int4")]
    [InlineData("int2")]
    public void A_zero_vector_encodes_to_a_zero_scale_and_decodes_to_zero(string spec)
    {
        using var message = Message("w", new float[1000]);
        using var encoded = Chain(spec).Encode(message, Context());
        Assert.Equal(0f, encoded["w#q.scale"].abs().max().item<float>());
        using var decoded = Chain(spec).Decode(encoded, Context());
        Assert.Equal(0f, decoded["w"].abs().max().item<float>());
    }

    /// <summary>§6.3 oracle: n = 4, k = 1, two rounds of error feedback.</summary>
    [Fact]
    public void Topk_with_error_feedback_sends_and_keeps_what_the_oracle_says()
    {
        using var state = new MemoryClientStateStore();
        var codec = Chain("topk:0.25");
        var context1 = Context(1, state: state, changes: ["d"]);
        using (var d1 = Message("d", 1f, 0.5f, 0.2f, 0f))
        using (var sent1 = RoundTrip(codec, d1, context1))
            Assert.Equal([1f, 0f, 0f, 0f], Values(sent1["d"]));
        Assert.Equal([0f, 0.5f, 0.2f, 0f], Residual(state, 2));

        using (var d2 = Message("d", 0f, 0.6f, 0.1f, 0f))
        using (var sent2 = RoundTrip(codec, d2, Context(2, state: state, changes: ["d"])))
            Assert.Equal([0f, 0.5f + 0.6f, 0f, 0f], Values(sent2["d"]));
        Assert.Equal([0f, 0f, 0.2f + 0.1f, 0f], Residual(state, 3));
    }

    /// <summary>
    /// §6.3 invariant Σ_t c_t + e_T = Σ_t Δ_t, exactly in fp32: the updates are multiples of 2⁻¹⁰ below 8, so every
    /// partial sum is exact in fp32 and any lost or duplicated mass would show as a difference.
    /// </summary>
    [Theory]
    [InlineData("topk:0.1")]
    [InlineData("topk:0.01")]
    [InlineData("sparse-lora:0.05:ef")]
    public void Topk_with_error_feedback_loses_no_mass_over_many_rounds(string spec)
    {
        using var state = new MemoryClientStateStore();
        var codec = Chain(spec);
        var rng = new Random(3);
        long[] shapeA = [8, 40], shapeB = [50, 8];
        var total = new Dictionary<string, double[]> { ["a"] = new double[320], ["b"] = new double[400] };
        var sent = new Dictionary<string, double[]> { ["a"] = new double[320], ["b"] = new double[400] };
        for (var round = 1; round <= 30; round++)
        {
            var a = Dyadic(rng, 320);
            var b = Dyadic(rng, 400);
            using var update = Message(("a", a, shapeA), ("b", b, shapeB));
            using var decoded = RoundTrip(codec, update, Context(round, state: state, changes: ["a", "b"]));
            Add(total["a"], a);
            Add(total["b"], b);
            Add(sent["a"], Values(decoded["a"]));
            Add(sent["b"], Values(decoded["b"]));
        }
        using var residual = state.Read("client_0", $"ef-{spec.Replace(':', '-')}", 31)!;
        foreach (var name in new[] { "a", "b" })
        {
            var e = Values(residual[name]);
            for (var i = 0; i < e.Length; i++) Assert.Equal(total[name][i], sent[name][i] + e[i]);
            Assert.Contains(e, x => x != 0); // something is still waiting to be sent
        }
    }

    [Fact]
    public void Topk_breaks_ties_towards_the_lower_index_and_keeps_k_of_n()
    {
        using var m = Message("t", 0.5f, -2f, 2f, 1f, -2f, 2f);
        using var decoded = RoundTrip(Chain("topk:0.5"), m, Context());
        Assert.Equal([0f, -2f, 2f, 0f, -2f, 0f], Values(decoded["t"]));
        Assert.Equal(3, TopKSelector.Keep(30, 0.1));
        Assert.Equal(1, TopKSelector.Keep(5, 0.01));
        Assert.Equal(0, TopKSelector.Keep(0, 0.5));
    }

    /// <summary>The radix path (vectors of 32k elements or more) and the sort path pick exactly the same entries.</summary>
    [Fact]
    public void The_radix_select_finds_the_same_entries_as_a_full_sort()
    {
        var x = Random(100_003, 5, -1, 1);
        for (var i = 0; i < x.Length; i += 7) x[i] = 0.25f; // many ties
        foreach (var k in new long[] { 1, 17, 5000, 40_000, 99_999 })
        {
            var selection = TopKSelector.Select(_ => x, 1, k);
            var ties = selection.Ties;
            var indices = new int[k];
            var values = new float[k];
            Assert.Equal(k, TopKSelector.Count(x, selection, ref ties));
            ties = selection.Ties;
            TopKSelector.Gather(x, selection, ref ties, indices, values);
            var expected = Enumerable.Range(0, x.Length).OrderByDescending(i => MathF.Abs(x[i])).ThenBy(i => i).Take((int)k).Order();
            Assert.Equal(expected, indices);
        }
    }

    [Fact]
    public void Sparse_lora_keeps_the_largest_entries_of_all_tensors_together()
    {
        // "big" holds the 4 largest magnitudes of the 12 entries, so a density of 1/3 keeps all of them and none of "small".
        using var m = Message(("small", [0.1f, -0.2f, 0.3f, 0.1f, 0.2f, -0.1f, 0.05f, 0.02f], [2, 4]), ("big", [1f, -2f, 3f, -4f], [4]));
        using var decoded = RoundTrip(Chain("sparse-lora:0.3333333"), m, Context());
        Assert.Equal(new float[8], Values(decoded["small"]));
        Assert.Equal([1f, -2f, 3f, -4f], Values(decoded["big"]));
        using var perTensor = RoundTrip(Chain("topk:0.3333333"), m, Context());
        Assert.Equal(3, Values(perTensor["small"]).Count(v => v != 0));
        Assert.Equal(2, Values(perTensor["big"]).Count(v => v != 0));
    }

    private static float[] Residual(IClientStateStore state, int round)
    {
        using var e = state.Read("client_0", "ef-topk-0.25", round)!;
        return Values(e["d"]);
    }

    private static float[] Dyadic(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => rng.Next(-4096, 4097) / 1024f)];

    private static void Add(double[] sum, float[] x)
    {
        for (var i = 0; i < x.Length; i++) sum[i] += x[i];
    }

    private static ushort Bits(string spec, float value)
    {
        using var m = Message("x", value);
        using var encoded = Chain(spec).Encode(m, Context());
        return BitConverter.ToUInt16(encoded["x"].bytes);
    }

    private static float Cast(string spec, float value)
    {
        using var m = Message("x", value);
        using var decoded = RoundTrip(Chain(spec), m, Context());
        return Values(decoded["x"])[0];
    }
}
