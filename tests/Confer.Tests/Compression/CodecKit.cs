using Confer.Compression;
using Confer.Federation.Clients;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Tests.Compression;

/// <summary>Small helpers for codec tests: messages from arrays, contexts, chains.</summary>
internal static class CodecKit
{
    public static NamedTensors Message(params (string Name, float[] Values, long[] Shape)[] tensors)
    {
        var m = new NamedTensors();
        foreach (var (name, values, shape) in tensors) m.Add(name, tensor(values, shape));
        return m;
    }

    public static NamedTensors Message(string name, params float[] values) => Message((name, values, [values.Length]));

    public static float[] Values(Tensor t) => t.to(ScalarType.Float32).contiguous().data<float>().ToArray();

    public static CodecContext Context(int round = 1, string client = "client_0", int seed = 7, CodecDirection direction = CodecDirection.Uplink,
        IClientStateStore? state = null, IEnumerable<string>? changes = null) =>
        new(client, round, seed) { Direction = direction, State = state, Changes = (changes ?? []).ToHashSet(StringComparer.Ordinal) };

    public static CodecChain Chain(string spec) => CodecChain.Parse(spec, "uplink_codec");

    /// <summary>Encodes and decodes with one chain; the caller owns the result.</summary>
    public static NamedTensors RoundTrip(ITensorCodec codec, NamedTensors message, CodecContext context)
    {
        var encoded = codec.Encode(message, context);
        try
        {
            return codec.Decode(encoded, context);
        }
        finally
        {
            if (!ReferenceEquals(encoded, message)) encoded.Dispose();
        }
    }

    /// <summary>A reproducible random vector (fixed seed), values in [lo, hi] with random signs.</summary>
    public static float[] Random(int n, int seed, float lo = -1, float hi = 1, bool signs = false)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ =>
        {
            var v = lo + (float)rng.NextDouble() * (hi - lo);
            return signs && rng.Next(2) == 0 ? -v : v;
        })];
    }

    /// <summary>A reproducible normal vector (mean 0): what LoRA updates look like, unlike uniform noise.</summary>
    public static float[] Gaussian(int n, int seed, float std)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => std * MathF.Sqrt(-2 * MathF.Log(1 - (float)rng.NextDouble())) * MathF.Cos(2 * MathF.PI * (float)rng.NextDouble()))];
    }

    /// <summary>Same dtype, shape and bytes.</summary>
    public static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && (a.numel() == 0 || a.contiguous().bytes.SequenceEqual(b.contiguous().bytes));
}
