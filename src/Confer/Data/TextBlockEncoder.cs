using Confer.Tokenizers;

namespace Confer.Data;

/// <summary>
/// Plain-text causal-LM data for pretraining or continued pretraining: every document becomes BOS + tokens + EOS,
/// the documents are concatenated into one token stream, and the stream is cut into blocks of
/// <see cref="BlockSize"/> tokens trained on every position (Hugging Face's <c>group_texts</c>). The tail shorter
/// than a block is dropped so every example has the same length.
/// </summary>
public sealed class TextBlockEncoder
{
    private readonly TextTokenizer _tokenizer;

    public TextBlockEncoder(TextTokenizer tokenizer, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (blockSize < 2) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "A block needs at least 2 tokens to hold one target.");
        _tokenizer = tokenizer;
        BlockSize = blockSize;
    }

    public int BlockSize { get; }

    public IReadOnlyList<TokenizedExample> Encode(IEnumerable<string> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return Chunk(documents.Select(d => _tokenizer.Encode(d, addBos: _tokenizer.BosId is not null, addEos: _tokenizer.EosId is not null)), BlockSize);
    }

    /// <summary>Concatenates the token lists and cuts full blocks; labels equal the inputs.</summary>
    internal static List<TokenizedExample> Chunk(IEnumerable<IReadOnlyList<int>> documents, int blockSize)
    {
        var blocks = new List<TokenizedExample>();
        var current = new int[blockSize];
        var filled = 0;
        foreach (var document in documents)
        {
            foreach (var id in document)
            {
                current[filled++] = id;
                if (filled < blockSize) continue;
                blocks.Add(new TokenizedExample(current, (int[])current.Clone()));
                current = new int[blockSize];
                filled = 0;
            }
        }
        return blocks;
    }
}
