using System.Text.Json;
using Confer.Models.Llama;
using static TorchSharp.torch;

namespace Confer.Tests.Models;

/// <summary>Each rope_scaling kind against inverse frequencies worked out by hand from transformers' formulas (head dim 8, base 10⁴: θ = 1, 10⁻¹, 10⁻², 10⁻³).</summary>
public class RopeScalingTests
{
    private static readonly double[] Plain = [1, 0.1, 0.01, 0.001];

    private static RopeScaling? Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return RopeScaling.Read(doc.RootElement.Clone(), "config.json");
    }

    private static double[] Frequencies(string json, long length, int maxPositions = 16)
    {
        using var rope = new RotaryEmbedding(8, maxPositions, 10000, Parse(json), null);
        return rope.Frequencies(length);
    }

    private static void Near(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * Math.Max(1, expected[i]), $"θ{i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void LinearDividesEveryFrequencyByTheFactorWithEitherKey()
    {
        Near([0.5, 0.05, 0.005, 0.0005], Frequencies("""{"type": "linear", "factor": 2}""", 8));
        Near([0.25, 0.025, 0.0025, 0.00025], Frequencies("""{"rope_type": "linear", "factor": 4.0}""", 8));
        Near(Plain, Frequencies("""{"rope_type": "default"}""", 8));
    }

    [Fact]
    public void DynamicKeepsPlainRopeUpToTheMaximumThenGrowsTheBase()
    {
        Near(Plain, Frequencies("""{"type": "dynamic", "factor": 2}""", 16));
        // 32 positions, max 16, factor 2: base' = 10⁴ · (2·32/16 − 1)^(8/6) = 10⁴ · 3^(4/3), so θᵢ = base'^(−i/4).
        Near([1, 1 / (10 * Math.Cbrt(3)), 1 / (100 * Math.Cbrt(9)), 1.0 / 3000], Frequencies("""{"type": "dynamic", "factor": 2}""", 32));
    }

    [Fact]
    public void Llama3KeepsHighFrequenciesDividesLowOnesAndBlendsBetween()
    {
        // original 1024, low 1, high 4: wavelengths 2π/θ are 6.3, 63 (< 256: kept), 628 (between 256 and 1024: blended),
        // 6283 (> 1024: divided by the factor 8).
        double smooth = (1024 / (2 * Math.PI / 0.01) - 1) / (4 - 1);
        Near([1, 0.1, (1 - smooth) * 0.01 / 8 + smooth * 0.01, 0.001 / 8],
            Frequencies("""{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 1024}""", 8));
    }

    [Fact]
    public void TablesRotateByPositionTimesTheScaledFrequency()
    {
        using var rope = new RotaryEmbedding(8, 16, 10000, Parse("""{"type": "linear", "factor": 2}"""), null);
        using var _ = NewDisposeScope();
        // x = e₀ (first half, pair 0): after RoPE at position p, component 0 is cos(p·θ₀) and component 4 is sin(p·θ₀).
        var x = zeros(1, 1, 16, 8);
        x[.., .., .., 0] = ones(1, 1, 16);
        var rotated = rope.Apply(x, 0);
        for (int p = 0; p < 16; p++)
        {
            Assert.Equal(Math.Cos(p * 0.5), rotated[0, 0, p, 0].item<float>(), 5);
            Assert.Equal(Math.Sin(p * 0.5), rotated[0, 0, p, 4].item<float>(), 5);
        }
        Assert.Throws<InvalidOperationException>(() => rope.Apply(zeros(1, 1, 17, 8), 0));
        using var dynamic = new RotaryEmbedding(8, 16, 10000, Parse("""{"type": "dynamic", "factor": 2}"""), null);
        Assert.Equal([1, 1, 32, 8], dynamic.Apply(zeros(1, 1, 32, 8), 0).shape);
    }

    [Theory]
    [InlineData("""{"rope_type": "yarn", "factor": 4}""", "'yarn' is not supported")]
    [InlineData("""{"type": "longrope", "factor": 4}""", "'longrope' is not supported")]
    [InlineData("""{"type": "linear", "factor": 2, "attention_factor": 1.5}""", "'attention_factor'")]
    [InlineData("""{"rope_type": "dynamic", "factor": 2, "original_max_position_embeddings": 4096}""", "'original_max_position_embeddings'")]
    public void UnknownKindsAndKeysAreRefusedNeverIgnored(string json, string expected)
    {
        var e = Assert.Throws<NotSupportedException>(() => Parse(json));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Llama3WithoutItsParametersIsAnError() =>
        Assert.Contains("low_freq_factor", Assert.Throws<InvalidDataException>(() => Parse("""{"rope_type": "llama3", "factor": 8}""")).Message);
}
