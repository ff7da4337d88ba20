using System.Text.Json;

namespace Confer.Models.Llama;

/// <summary>
/// <c>rope_scaling</c> of a Hugging Face config, with transformers' formulas for the inverse frequencies
/// (<c>modeling_rope_utils</c>): <c>linear</c> (position interpolation: θᵢ/factor), <c>dynamic</c> (NTK-aware: the
/// base grows with the sequence once it exceeds max_position_embeddings) and <c>llama3</c> (Llama 3.1/3.2: low
/// frequencies divided by factor, high ones kept, a smooth blend between). The kind is read from <c>rope_type</c> or the
/// legacy <c>type</c> key, as transformers does; any other kind, or a key the kind does not use, is refused.
/// </summary>
public sealed record RopeScaling(string Kind, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalMaxPositions = 0)
{
    private static readonly Dictionary<string, string[]> KeysByKind = new(StringComparer.Ordinal)
    {
        ["default"] = [],
        ["linear"] = ["factor"],
        ["dynamic"] = ["factor"],
        ["llama3"] = ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
    };

    public bool IsDynamic => Kind == "dynamic";

    /// <summary>The scaling described by <paramref name="json"/>, or null for plain RoPE (absent, null or "default").</summary>
    public static RopeScaling? Read(JsonElement? json, string source)
    {
        if (json is not { ValueKind: JsonValueKind.Object } rs) return null;
        string? kind = rs.TryGetProperty("rope_type", out var t) ? t.GetString() : rs.TryGetProperty("type", out var legacy) ? legacy.GetString() : null;
        if (kind is null) throw new InvalidDataException($"{source}: rope_scaling has neither 'rope_type' nor 'type'; add the kind (linear, dynamic, llama3).");
        if (!KeysByKind.TryGetValue(kind, out var keys))
            throw new NotSupportedException($"{source}: rope_scaling kind '{kind}' is not supported (supported: {string.Join(", ", KeysByKind.Keys)}); Confer will not run a model whose positions it would encode differently.");
        foreach (var property in rs.EnumerateObject())
            if (property.Name is not ("rope_type" or "type") && !keys.Contains(property.Name))
                throw new NotSupportedException($"{source}: rope_scaling key '{property.Name}' is not used by kind '{kind}' in Confer (it reads: {string.Join(", ", keys)}); remove it or use a model whose scaling Confer supports.");
        if (kind == "default") return null;
        double Number(string key) => rs.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number
            ? v.GetDouble()
            : throw new InvalidDataException($"{source}: rope_scaling kind '{kind}' needs a number '{key}'.");
        double factor = Number("factor");
        if (factor < 1) throw new InvalidDataException($"{source}: rope_scaling factor must be ≥ 1 (got {factor}).");
        return kind == "llama3"
            ? new RopeScaling(kind, factor, Number("low_freq_factor"), Number("high_freq_factor"), (int)Number("original_max_position_embeddings"))
            : new RopeScaling(kind, factor);
    }

    /// <summary>Plain RoPE: θᵢ = base^(−2i/d).</summary>
    public static double[] DefaultFrequencies(int headDim, double theta) =>
        Enumerable.Range(0, headDim / 2).Select(i => 1.0 / Math.Pow(theta, 2.0 * i / headDim)).ToArray();

    /// <summary>The inverse frequencies for a pass over <paramref name="sequenceLength"/> positions.</summary>
    public double[] Frequencies(int headDim, double theta, int maxPositions, long sequenceLength)
    {
        switch (Kind)
        {
            case "linear":
                return DefaultFrequencies(headDim, theta).Select(f => f / Factor).ToArray();
            case "dynamic":
                long length = Math.Max(sequenceLength, maxPositions);
                double grown = theta * Math.Pow(Factor * length / maxPositions - (Factor - 1), headDim / (headDim - 2.0));
                return DefaultFrequencies(headDim, grown);
            default:
                return DefaultFrequencies(headDim, theta).Select(Llama3).ToArray();
        }
    }

    private double Llama3(double frequency)
    {
        double lowFreqWavelength = OriginalMaxPositions / LowFreqFactor;
        double highFreqWavelength = OriginalMaxPositions / HighFreqFactor;
        double wavelength = 2 * Math.PI / frequency;
        if (wavelength < highFreqWavelength) return frequency;
        if (wavelength > lowFreqWavelength) return frequency / Factor;
        double smooth = (OriginalMaxPositions / wavelength - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
        return (1 - smooth) * frequency / Factor + smooth * frequency;
    }
}
