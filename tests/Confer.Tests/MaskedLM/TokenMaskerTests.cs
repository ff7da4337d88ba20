using Confer.Data;
using Confer.Tokenizers;
using Confer.Training.MaskedLM;
using static TorchSharp.torch;

namespace Confer.Tests.MaskedLM;

public class TokenMaskerTests
{
    private static readonly Lazy<TextTokenizer> Bert = new(() => TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "bert-base-uncased")));

    /// <summary>[CLS] ordinary tokens… [SEP] then [PAD]s in odd rows: 256 rows × 128 tokens.</summary>
    private static Tensor Sample(TextTokenizer tok)
    {
        var ids = randint(1000, 30000, [256, 128], generator: new Generator(11), dtype: ScalarType.Int64);
        ids[.., 0] = tok.ClsId!.Value;
        ids[.., 127] = tok.SepId!.Value;
        ids[TensorIndex.Slice(1, null, 2), TensorIndex.Slice(100, 127)] = tok.PadId!.Value;
        return ids;
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void FollowsTheBertRecipeAndNeverTouchesSpecialTokens()
    {
        var tok = Bert.Value;
        var masking = MaskingOptions.FromTokenizer(tok);
        using var scope = NewDisposeScope();
        var ids = Sample(tok);
        using var masker = new TokenMasker(masking, tok.VocabSize, seed: 1);
        var (inputs, labels) = masker.Mask(ids);

        var special = ids.eq(tok.ClsId!.Value).logical_or(ids.eq(tok.SepId!.Value)).logical_or(ids.eq(tok.PadId!.Value));
        var chosen = labels.ne(TokenMasker.IgnoreIndex);
        Assert.Equal(0L, chosen.logical_and(special).sum().item<long>());
        Assert.True(Same(inputs.masked_select(special), ids.masked_select(special)), "special tokens must pass through unchanged");
        Assert.True(Same(labels.masked_select(chosen), ids.masked_select(chosen)), "labels hold the original ids");
        Assert.True(Same(inputs.masked_select(chosen.logical_not()), ids.masked_select(chosen.logical_not())), "only chosen tokens may change");

        double eligible = special.logical_not().sum().item<long>();
        double picked = chosen.sum().item<long>();
        double masked = inputs.eq(masking.MaskTokenId).logical_and(chosen).sum().item<long>();
        double unchanged = inputs.eq(ids).logical_and(chosen).sum().item<long>();
        double random = picked - masked - unchanged;
        Assert.InRange(picked / eligible, 0.14, 0.16); // ≈ 4 800 of 32 000 eligible tokens
        Assert.InRange(masked / picked, 0.77, 0.83);
        Assert.InRange(random / picked, 0.08, 0.12);
        Assert.InRange(unchanged / picked, 0.08, 0.12);
    }

    [Fact]
    public void SameSeedMasksTheSameWay()
    {
        var tok = Bert.Value;
        var masking = MaskingOptions.FromTokenizer(tok);
        using var scope = NewDisposeScope();
        var ids = Sample(tok);
        using var a = new TokenMasker(masking, tok.VocabSize, seed: 7);
        using var b = new TokenMasker(masking, tok.VocabSize, seed: 7);
        using var c = new TokenMasker(masking, tok.VocabSize, seed: 8);
        for (var call = 0; call < 2; call++) // the stream continues identically across calls too
        {
            var (inputsA, labelsA) = a.Mask(ids);
            var (inputsB, labelsB) = b.Mask(ids);
            Assert.True(Same(inputsA, inputsB) && Same(labelsA, labelsB), $"call {call}: same seed must mask identically");
            var (_, labelsC) = c.Mask(ids);
            Assert.False(Same(labelsA, labelsC), "another seed must choose other positions");
        }
    }

    [Fact]
    public void BlocksFromRealTextAreClsTokensSep()
    {
        var tok = Bert.Value;
        var documents = TextCorpus.Read(SharedDataPath.Of("gsm8k", "test.jsonl")).Take(60).ToList();
        var blocks = new MaskedLMBlockEncoder(tok, 64).Encode(documents);
        Assert.True(blocks.Count > 20, $"60 GSM8K strings should give more than 20 blocks of 64, got {blocks.Count}");
        Assert.All(blocks, b =>
        {
            Assert.Equal(64, b.Length);
            Assert.Equal(tok.ClsId, b[0]);
            Assert.Equal(tok.SepId, b[^1]);
            Assert.DoesNotContain(tok.ClsId!.Value, b[1..]);
            Assert.DoesNotContain(tok.PadId!.Value, b);
        });
        // The text survives: the first block decodes to the start of the first document.
        static string Squash(string s) => new(s.ToLowerInvariant().Where(c => !char.IsWhiteSpace(c)).ToArray());
        Assert.StartsWith(Squash(documents[0])[..30], Squash(tok.Decode(blocks[0])));
    }
}
