using Confer.Tokenizers;

namespace Confer.Training.MaskedLM;

/// <summary>
/// Turns documents into fixed-length encoder blocks <c>[CLS] tokens… [SEP]</c>: the documents' WordPiece tokens are
/// concatenated with a [SEP] between documents (as BERT pre-training packs sentences) and cut into full blocks; the
/// remainder shorter than a block is dropped, so every block has the same length and batches need no padding.
/// </summary>
public sealed class MaskedLMBlockEncoder
{
    private readonly TextTokenizer _tokenizer;
    private readonly int _cls;
    private readonly int _sep;

    /// <exception cref="InvalidOperationException">The tokenizer has no [CLS] or [SEP] (not a BERT vocabulary).</exception>
    public MaskedLMBlockEncoder(TextTokenizer tokenizer, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (blockSize < 3) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "A block needs [CLS], [SEP] and at least one token.");
        _tokenizer = tokenizer;
        _cls = tokenizer.ClsId ?? throw new InvalidOperationException("The tokenizer has no [CLS] token: masked-LM blocks need a BERT (WordPiece vocab.txt) tokenizer.");
        _sep = tokenizer.SepId ?? throw new InvalidOperationException("The tokenizer has no [SEP] token: masked-LM blocks need a BERT (WordPiece vocab.txt) tokenizer.");
        BlockSize = blockSize;
    }

    public int BlockSize { get; }

    public IReadOnlyList<int[]> Encode(IEnumerable<string> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var blocks = new List<int[]>();
        var body = BlockSize - 2;
        var current = new int[BlockSize];
        var filled = 0;
        var first = true;
        foreach (var document in documents)
        {
            var ids = _tokenizer.Encode(document);
            if (ids.Count == 0) continue;
            if (!first) Append(_sep);
            first = false;
            foreach (var id in ids) Append(id);
        }
        return blocks;

        void Append(int id)
        {
            current[1 + filled++] = id;
            if (filled < body) return;
            current[0] = _cls;
            current[BlockSize - 1] = _sep;
            blocks.Add(current);
            current = new int[BlockSize];
            filled = 0;
        }
    }
}
