using static TorchSharp.torch;

namespace Confer.Models.Llama2c;

/// <summary>
/// Reads llama2.c checkpoints (legacy v0 fp32, v1 fp32, v2 Q8_0) into Hugging Face LLaMA tensors, so a llama2.c
/// model runs in Confer's HF-named <c>LlamaForCausalLM</c> unchanged.
/// </summary>
public static class Llama2cCheckpoint
{
    /// <summary>"ak42" read as a little-endian uint32: the magic of the versioned (v1, v2) exports.</summary>
    internal const uint Magic = 0x616b3432;

    private const int VersionedHeaderBytes = 256;

    /// <summary>The checkpoint's hyper-parameters, validated against the file size.</summary>
    public static Llama2cConfig ReadConfig(string path)
    {
        using var reader = new Llama2cRawReader(path);
        return ReadHeader(reader, path);
    }

    /// <summary>
    /// The checkpoint as fp32 tensors with HF LLaMA names (<c>model.embed_tokens.weight</c>,
    /// <c>model.layers.{i}.self_attn.q_proj.weight</c>, ...), q/k rows permuted from llama2.c's interleaved RoPE pairs
    /// to HF's rotate-half layout, and <c>lm_head.weight</c> only when the classifier is not shared.
    /// </summary>
    public static (Llama2cConfig Config, NamedTensors Tensors) Load(string path)
    {
        using var raw = ReadRaw(path, out var config);
        return (config, Llama2cHfLayout.ToHf(raw, config));
    }

    /// <summary>The tensors as llama2.c lays them out, keyed <c>tok_embeddings</c>, <c>layers.{i}.wq</c>, ..., <c>norm</c>, <c>output</c>.</summary>
    internal static NamedTensors ReadRaw(string path, out Llama2cConfig config)
    {
        using var reader = new Llama2cRawReader(path);
        config = ReadHeader(reader, path);
        var raw = new NamedTensors();
        try
        {
            if (config.Version == 0) ReadLegacy(reader, config, raw);
            else ReadVersioned(reader, config, raw);
        }
        catch
        {
            raw.Dispose();
            throw;
        }
        return raw;
    }

    private static Llama2cConfig ReadHeader(Llama2cRawReader reader, string path)
    {
        if (reader.Length < 28) throw new InvalidDataException($"llama2.c checkpoint '{path}' is {reader.Length} bytes, too short for a header.");
        int first = reader.ReadInt32();
        Llama2cConfig config;
        if ((uint)first == Magic)
        {
            int version = reader.ReadInt32();
            if (version is not (1 or 2)) throw new InvalidDataException($"llama2.c checkpoint '{path}' has version {version}; only 0 (legacy), 1 (fp32) and 2 (Q8_0) are supported.");
            int[] p = [.. Enumerable.Range(0, 7).Select(_ => reader.ReadInt32())];
            bool shared = reader.ReadByte() != 0;
            int groupSize = version == 2 ? reader.ReadInt32() : 0;
            config = new Llama2cConfig(p[0], p[1], p[2], p[3], p[4], p[5], p[6], shared, version, groupSize);
            reader.Position = VersionedHeaderBytes;
        }
        else
        {
            // Legacy: no magic; the first int is dim, and a negative vocab_size marks an unshared classifier.
            int[] p = [first, .. Enumerable.Range(0, 6).Select(_ => reader.ReadInt32())];
            config = new Llama2cConfig(p[0], p[1], p[2], p[3], p[4], Math.Abs(p[5]), p[6], p[5] > 0, 0, 0);
        }
        config.Validate(path);
        long expected = ExpectedFileBytes(config);
        if (expected != reader.Length)
            throw new InvalidDataException($"llama2.c checkpoint '{path}' is {reader.Length} bytes but its header ({config}) implies {expected}; the file is truncated, padded or not a llama2.c v{config.Version} checkpoint.");
        return config;
    }

    private static void ReadLegacy(Llama2cRawReader r, Llama2cConfig c, NamedTensors raw)
    {
        raw.Add("tok_embeddings", r.ReadFloat32("tok_embeddings", c.VocabSize, c.Dim));
        PerLayer(c, raw, "attention_norm", i => r.ReadFloat32($"rms_att[{i}]", c.Dim));
        ReadProjections(c, raw, (name, rows, cols) => r.ReadFloat32(name, rows, cols), afterAttention: () =>
            PerLayer(c, raw, "ffn_norm", i => r.ReadFloat32($"rms_ffn[{i}]", c.Dim)));
        raw.Add("norm", r.ReadFloat32("rms_final", c.Dim));
        r.Skip(4L * c.SeqLen * c.HeadDim); // freq_cis_real and freq_cis_imag: RoPE tables, recomputed by the model
        if (!c.SharedClassifier) raw.Add("output", r.ReadFloat32("wcls", c.VocabSize, c.Dim));
    }

    private static void ReadVersioned(Llama2cRawReader r, Llama2cConfig c, NamedTensors raw)
    {
        PerLayer(c, raw, "attention_norm", i => r.ReadFloat32($"rms_att[{i}]", c.Dim));
        PerLayer(c, raw, "ffn_norm", i => r.ReadFloat32($"rms_ffn[{i}]", c.Dim));
        raw.Add("norm", r.ReadFloat32("rms_final", c.Dim));
        Func<string, long, long, Tensor> read = c.Version == 2
            ? (name, rows, cols) => r.ReadQ80(name, c.GroupSize, rows, cols)
            : (name, rows, cols) => r.ReadFloat32(name, rows, cols);
        raw.Add("tok_embeddings", read("tok_embeddings", c.VocabSize, c.Dim));
        ReadProjections(c, raw, read, afterAttention: null);
        if (!c.SharedClassifier) raw.Add("output", read("wcls", c.VocabSize, c.Dim));
    }

    /// <summary>wq, wk, wv, wo, (legacy: ffn norms,) w1, w2, w3 — each for every layer, as [out, in] row-major.</summary>
    private static void ReadProjections(Llama2cConfig c, NamedTensors raw, Func<string, long, long, Tensor> read, Action? afterAttention)
    {
        (string Name, long Rows, long Cols)[] attention = [("wq", c.Dim, c.Dim), ("wk", c.KvDim, c.Dim), ("wv", c.KvDim, c.Dim), ("wo", c.Dim, c.Dim)];
        (string Name, long Rows, long Cols)[] ffn = [("w1", c.HiddenDim, c.Dim), ("w2", c.Dim, c.HiddenDim), ("w3", c.HiddenDim, c.Dim)];
        foreach (var (name, rows, cols) in attention) PerLayer(c, raw, name, i => read($"{name}[{i}]", rows, cols));
        afterAttention?.Invoke();
        foreach (var (name, rows, cols) in ffn) PerLayer(c, raw, name, i => read($"{name}[{i}]", rows, cols));
    }

    private static void PerLayer(Llama2cConfig c, NamedTensors raw, string name, Func<int, Tensor> read)
    {
        for (int i = 0; i < c.Layers; i++) raw.Add($"layers.{i}.{name}", read(i));
    }

    private static long ExpectedFileBytes(Llama2cConfig c)
    {
        long dim = c.Dim, hidden = c.HiddenDim, layers = c.Layers, vocab = c.VocabSize;
        long[] matrices = [vocab * dim, .. Repeat(layers, dim * dim, c.KvDim * dim, c.KvDim * dim, dim * dim, hidden * dim, dim * hidden, hidden * dim), .. c.SharedClassifier ? Array.Empty<long>() : [vocab * dim]];
        long norms = 2 * layers * dim + dim;
        return c.Version switch
        {
            0 => 28 + 4 * (matrices.Sum() + norms + (long)c.SeqLen * c.HeadDim),
            1 => VersionedHeaderBytes + 4 * (matrices.Sum() + norms),
            _ => VersionedHeaderBytes + 4 * norms + matrices.Sum(n => n + 4 * (n / c.GroupSize)),
        };
    }

    private static IEnumerable<long> Repeat(long layers, params long[] perLayer) =>
        perLayer.SelectMany(n => Enumerable.Repeat(n, (int)layers));
}
