namespace Confer.Models.Llama2c;

/// <summary>
/// The hyper-parameters in a llama2.c checkpoint header. <see cref="Version"/> 0 is the legacy headerless-magic
/// fp32 export, 1 the fp32 export with a 256-byte header, 2 the Q8_0 export (int8 groups with fp32 scales).
/// </summary>
/// <param name="Dim">Model width (HF <c>hidden_size</c>).</param>
/// <param name="HiddenDim">Feed-forward width (HF <c>intermediate_size</c>).</param>
/// <param name="Layers">Number of decoder layers.</param>
/// <param name="Heads">Query heads.</param>
/// <param name="KvHeads">Key/value heads (grouped-query attention when fewer than <paramref name="Heads"/>).</param>
/// <param name="VocabSize">Vocabulary size (always positive here; the legacy sign flag is in <paramref name="SharedClassifier"/>).</param>
/// <param name="SeqLen">Maximum sequence length (HF <c>max_position_embeddings</c>).</param>
/// <param name="SharedClassifier">True when the output projection is the token embedding (HF <c>tie_word_embeddings</c>).</param>
/// <param name="Version">Checkpoint format version (0, 1 or 2).</param>
/// <param name="GroupSize">Q8_0 quantisation group size (version 2 only; 0 otherwise).</param>
public sealed record Llama2cConfig(
    int Dim, int HiddenDim, int Layers, int Heads, int KvHeads, int VocabSize, int SeqLen,
    bool SharedClassifier, int Version, int GroupSize)
{
    public int HeadDim => Dim / Heads;

    public int KvDim => KvHeads * HeadDim;

    /// <summary>Throws unless the numbers describe a model llama2.c could run.</summary>
    internal void Validate(string path)
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new InvalidDataException($"llama2.c checkpoint '{path}': invalid header ({what}); this is not a llama2.c checkpoint or it is corrupt. Header: {this}.");
        }

        Require(Dim > 0 && HiddenDim > 0 && Layers > 0 && Heads > 0 && KvHeads > 0 && VocabSize > 0 && SeqLen > 0, "all sizes must be positive");
        Require(Dim % Heads == 0 && HeadDim % 2 == 0, "dim must split into heads of even size");
        Require(Heads % KvHeads == 0, "n_heads must be a multiple of n_kv_heads");
        Require(Version != 2 || GroupSize > 0, "group size must be positive");
    }
}
