using Confer.Models.Llama;

namespace Confer.Cli.Commands.Bench;

/// <summary>
/// A benchmark model shape plus the batch it trains on. S and M are the sizes performance goals are stated for; T is
/// the stories260K shape (5 layers, d 64) used to check per-step overheads of decoding, where compute is negligible.
/// </summary>
internal sealed record BenchModel(string Name, LlamaConfig Config, int Sequence, int Batch)
{
    public static readonly IReadOnlyList<string> Names = ["S", "M", "T"];

    /// <summary>Tokens in one training batch.</summary>
    public long BatchTokens => (long)Sequence * Batch;

    public static BenchModel Parse(string name) => name.ToUpperInvariant() switch
    {
        "S" => new("S", Llama(vocab: 4096, hidden: 256, layers: 4, heads: 4, kvHeads: 4, ffn: 688), 256, 8),
        "M" => new("M", Llama(vocab: 32000, hidden: 512, layers: 8, heads: 8, kvHeads: 8, ffn: 1376), 512, 4),
        "T" => new("T", Llama(vocab: 512, hidden: 64, layers: 5, heads: 8, kvHeads: 4, ffn: 172), 256, 8),
        _ => throw new ArgumentException($"Unknown bench config '{name}'; use one of {string.Join(", ", Names)}."),
    };

    private static LlamaConfig Llama(int vocab, int hidden, int layers, int heads, int kvHeads, int ffn) => new()
    {
        VocabSize = vocab, HiddenSize = hidden, NumHiddenLayers = layers, NumAttentionHeads = heads, NumKeyValueHeads = kvHeads,
        IntermediateSize = ffn, MaxPositionEmbeddings = 1024, RmsNormEps = 1e-5, TieWordEmbeddings = false,
    };

    /// <summary>(d_in, d_out) of every linear layer of one decoder layer, in model order (q, k, v, o, gate, up, down).</summary>
    public IReadOnlyList<(long In, long Out)> LayerLinears
    {
        get
        {
            long d = Config.HiddenSize, q = Config.NumAttentionHeads * Config.HeadDim, kv = Config.KeyValueHeads * Config.HeadDim, f = Config.IntermediateSize;
            return [(d, q), (d, kv), (d, kv), (q, d), (d, f), (d, f), (f, d)];
        }
    }

    public override string ToString() =>
        $"config {Name}: vocab {Config.VocabSize}, d {Config.HiddenSize}, {Config.NumHiddenLayers} layers, {Config.NumAttentionHeads} heads " +
        $"({Config.KeyValueHeads} kv), ffn {Config.IntermediateSize}, seq {Sequence}, batch {Batch}";
}
