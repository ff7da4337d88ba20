using Confer.Models.Bert;
using static TorchSharp.torch;

namespace Confer.Tests.MaskedLM;

public class BertForMaskedLMTests
{
    private static BertForMaskedLM Tiny(long seed = 1)
    {
        manual_seed(seed);
        var model = new BertForMaskedLM(TinyBert.Config());
        model.eval();
        return model;
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void ParameterNamesFollowHuggingFaceWithTiedDecoderAndNoPooler()
    {
        using var model = Tiny();
        var shapes = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal([120L, 32L], shapes["bert.embeddings.word_embeddings.weight"]);
        Assert.Equal([32L, 32L], shapes["bert.encoder.layer.1.attention.self.query.weight"]);
        Assert.Equal([32L, 32L], shapes["cls.predictions.transform.dense.weight"]);
        Assert.Equal([32L], shapes["cls.predictions.transform.dense.bias"]);
        Assert.Equal([32L], shapes["cls.predictions.transform.LayerNorm.weight"]);
        Assert.Equal([32L], shapes["cls.predictions.transform.LayerNorm.bias"]);
        Assert.Equal([120L], shapes["cls.predictions.bias"]);
        Assert.DoesNotContain(shapes.Keys, k => k.StartsWith("bert.pooler.", StringComparison.Ordinal));
        Assert.DoesNotContain(shapes.Keys, k => k.Contains("decoder", StringComparison.Ordinal));
        // The classification model keeps its pooler.
        using var classifier = new BertForSequenceClassification(TinyBert.Config());
        Assert.Contains("bert.pooler.dense.weight", classifier.state_dict().Keys);
    }

    [Fact]
    public void DecoderIsTheWordEmbeddingMatrix()
    {
        using var model = Tiny();
        using var ids = randint(10, 120, [2, 8], generator: new Generator(3), dtype: ScalarType.Int64); // token 5 never in the input
        using var before = model.call(new BertInput(ids));
        Assert.Equal([2L, 8L, 120L], before.shape);
        using (no_grad())
        {
            using var row = model.state_dict()["bert.embeddings.word_embeddings.weight"][5];
            row.mul_(3.0); // only the output side can see this row
        }
        using var after = model.call(new BertInput(ids));
        using var changed = (after - before).abs().amax([0, 1]);
        Assert.True(changed[5].item<float>() > 1e-3f, "the logit of token 5 must follow its embedding row (tied decoder)");
        Assert.Equal(0f, changed[..5].max().item<float>());
        Assert.Equal(0f, changed[6..].max().item<float>());
    }

    [Fact]
    public void ForwardAtSelectedPositionsEqualsFullLogitsThere()
    {
        using var model = Tiny(seed: 8);
        using var scope = NewDisposeScope();
        var ids = TinyModels.RandomIds(9, 3, 12, vocab: 120);
        var selected = rand([3, 12], generator: new Generator(10)).lt(0.3);
        var partial = model.ForwardAt(new BertInput(ids), selected);
        var full = model.call(new BertInput(ids))[selected];
        Assert.Equal(full.shape, partial.shape);
        Assert.True(partial.allclose(full, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void SaveThenLoadGivesIdenticalLogits()
    {
        using var dir = new TempDir();
        using var model = Tiny(seed: 5);
        model.SavePretrained(dir.Path);
        Assert.Equal(["BertForMaskedLM"], BertConfig.Load(Path.Combine(dir.Path, "config.json")).Architectures);
        using var loaded = BertForMaskedLM.FromPretrained(dir.Path);
        using var ids = TinyModels.RandomIds(4, 2, 10, vocab: 120);
        using var expected = model.call(new BertInput(ids));
        using var actual = loaded.call(new BertInput(ids));
        Assert.True(Same(expected, actual), "logits after save → load must be bitwise identical");
    }

    [Fact]
    public void MaskedLMCheckpointLoadsIntoSequenceClassification()
    {
        using var dir = new TempDir();
        using var model = Tiny(seed: 6);
        model.SavePretrained(dir.Path);
        using var classifier = BertForSequenceClassification.FromPretrained(dir.Path);
        var encoder = classifier.state_dict();
        foreach (var (name, tensor) in model.state_dict().Where(kv => kv.Key.StartsWith("bert.", StringComparison.Ordinal)))
            Assert.True(Same(tensor, encoder[name]), $"{name} must load from the masked-LM checkpoint");
        using var ids = TinyModels.RandomIds(7, 2, 6, vocab: 120);
        classifier.eval();
        using var logits = classifier.call(new BertInput(ids));
        Assert.Equal([2L, 1L], logits.shape);
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("confer-mlm-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
