using Confer.Data;
using Confer.Tokenizers;

namespace Confer.Tests.Data;

public class TextBlockEncoderTests
{
    [Fact]
    public void StreamIsCutIntoFullBlocksAcrossDocuments()
    {
        var blocks = TextBlockEncoder.Chunk([[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]], blockSize: 4);
        Assert.Equal(2, blocks.Count); // 10 tokens → 2 blocks, tail of 2 dropped
        Assert.Equal([1, 2, 3, 4], blocks[0].InputIds);
        Assert.Equal([5, 6, 7, 8], blocks[1].InputIds);
        Assert.Equal(blocks[1].InputIds, blocks[1].Labels);
        Assert.Equal(3, blocks[1].TargetCount);
    }

    [Fact]
    public void DocumentsAreWrappedInBosAndEos()
    {
        var tok = TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "llama2"));
        string[] documents = ["Once upon a time there was a cat.", "The cat liked milk and naps in the sun."];
        var stream = documents.SelectMany(d => tok.Encode(d, addBos: true, addEos: true)).ToList();
        var blocks = new TextBlockEncoder(tok, blockSize: 8).Encode(documents);
        Assert.Equal(stream.Count / 8, blocks.Count);
        Assert.Equal(stream.Take(blocks.Count * 8), blocks.SelectMany(b => b.InputIds));
        Assert.Equal(tok.BosId, blocks[0].InputIds[0]);
        Assert.Contains(tok.EosId!.Value, blocks.SelectMany(b => b.InputIds));
    }
}
