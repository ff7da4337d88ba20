using Confer.Models;
using Confer.Models.Bert;
using Confer.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Tests.Peft;

public class LoraModelTests
{
    private static LoraConfig Config(int rank = 4, double dropout = 0) => new() { Rank = rank, Alpha = 8, Dropout = dropout };

    [Fact]
    public void FiftyCapturesLeaveOnlyTheirResultsAlive()
    {
        using var model = TinyModels.Llama();
        LoraModel.Attach(model, Config(), new Generator(7));
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 50; i++)
        {
            using var adapter = LoraModel.Capture(model);
            Assert.Equal(2 * LoraModel.Layers(model).Count(), adapter.Count);
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void AddingADenseUpdateOfAnotherDtypeLeavesNoTensorAlive()
    {
        using var layer = new LoraLinear(6, 4);
        using var delta = ones(4, 6, dtype: ScalarType.Float64);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 50; i++) layer.AddToWeight(delta);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void FreshAdapterLeavesOutputsBitwiseEqual()
    {
        using var model = TinyModels.Llama();
        using var _ = no_grad();
        var ids = TinyModels.RandomIds(1, 2, 10);
        var before = model.forward(new CausalLMInput(ids)).Logits.clone();
        LoraModel.Attach(model, Config(), new Generator(7));
        var after = model.forward(new CausalLMInput(ids)).Logits;
        Assert.True(before.eq(after).all().item<bool>());
    }

    [Fact]
    public void MergeUnmergeRestoresWeightsAndMergedEqualsAdapter()
    {
        using var model = TinyModels.Llama();
        LoraModel.Attach(model, Config(), new Generator(7));
        RandomiseB(model, 11);
        using var _ = no_grad();
        var ids = TinyModels.RandomIds(2, 2, 10);
        var withAdapter = model.forward(new CausalLMInput(ids)).Logits.clone();
        var baseWeights = LoraModel.Layers(model).Select(l => l.Layer.Weight.clone()).ToList();
        LoraModel.Merge(model);
        var merged = model.forward(new CausalLMInput(ids)).Logits;
        Assert.True(withAdapter.allclose(merged, rtol: 1e-5, atol: 1e-5), $"max diff {(withAdapter - merged).abs().max().item<float>()}");
        Assert.False(LoraModel.Layers(model).First().Layer.Weight.eq(baseWeights[0]).all().item<bool>());
        LoraModel.Unmerge(model);
        foreach (var ((_, layer), original) in LoraModel.Layers(model).Zip(baseWeights))
            Assert.True(layer.Weight.allclose(original, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void GradientsReachOnlyAdapterTensors()
    {
        using var model = TinyModels.Llama();
        model.train();
        LoraModel.Attach(model, Config(), new Generator(7));
        RandomiseB(model, 3);
        var ids = TinyModels.RandomIds(4, 2, 8);
        var logits = model.forward(new CausalLMInput(ids)).Logits;
        logits.pow(2).mean().backward();
        foreach (var (name, p) in model.named_parameters())
        {
            var isAdapter = name.Contains(".lora_A.") || name.Contains(".lora_B.");
            Assert.Equal(isAdapter, p.requires_grad);
            if (isAdapter) Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, name);
            else Assert.True(p.grad is null, name);
        }
    }

    [Fact]
    public void LlamaAdapterKeysAndShapesFollowPeft()
    {
        using var model = TinyModels.Llama();
        var config = Config(rank: 4);
        config.RankPattern["down_proj"] = 2;
        var paths = LoraModel.Attach(model, config);
        Assert.Equal(14, paths.Count); // 7 linear layers × 2 blocks
        using var adapter = LoraModel.Capture(model);
        Assert.Equal(28, adapter.Count);
        Assert.Equal("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", adapter.Names[0]);
        Assert.Equal("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", adapter.Names[1]);
        Assert.Equal([4L, 32L], adapter["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"].shape);
        Assert.Equal([16L, 4L], adapter["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"].shape);
        Assert.Equal([2L, 72L], adapter["base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"].shape);
        Assert.Equal([32L, 2L], adapter["base_model.model.model.layers.0.mlp.down_proj.lora_B.weight"].shape);
        Assert.True(adapter["base_model.model.model.layers.0.mlp.down_proj.lora_B.weight"].abs().sum().item<float>() == 0);
    }

    [Fact]
    public void BertAdapterKeysAndShapesFollowPeft()
    {
        using var model = new BertForSequenceClassification(TinyBert.Config());
        var config = new LoraConfig { Rank = 2, Alpha = 4, TargetModules = [.. LoraConfig.BertAllLinear], TaskType = "SEQ_CLS" };
        LoraModel.Attach(model, config);
        using var adapter = LoraModel.Capture(model);
        var names = adapter.Names.ToHashSet();
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight", names);
        Assert.Contains("base_model.model.bert.encoder.layer.1.attention.output.dense.lora_B.weight", names);
        Assert.Contains("base_model.model.bert.encoder.layer.0.intermediate.dense.lora_A.weight", names);
        Assert.Contains("base_model.model.bert.encoder.layer.0.output.dense.lora_A.weight", names);
        Assert.Contains("base_model.model.bert.pooler.dense.lora_A.weight", names);
        Assert.Equal([2L, 64L], adapter["base_model.model.bert.encoder.layer.0.output.dense.lora_A.weight"].shape);
        Assert.Equal([64L, 2L], adapter["base_model.model.bert.encoder.layer.0.intermediate.dense.lora_B.weight"].shape);
        Assert.Equal(2 * 6 * 2 + 2, adapter.Count);
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("bert.embeddings.word_embeddings.weight", keys);
        Assert.Contains("bert.embeddings.LayerNorm.weight", keys);
        Assert.Contains("bert.encoder.layer.0.attention.output.LayerNorm.bias", keys);
        Assert.Contains("classifier.weight", keys);
    }

    [Fact]
    public void AssignRoundTripsAndRejectsMismatchedShapes()
    {
        using var model = TinyModels.Llama();
        LoraModel.Attach(model, Config());
        RandomiseB(model, 5);
        using var adapter = LoraModel.Capture(model);
        using var other = TinyModels.Llama(seed: 2);
        LoraModel.Attach(other, Config());
        LoraModel.Assign(other, adapter);
        using var copy = LoraModel.Capture(other);
        foreach (var (name, t) in adapter) Assert.True(t.eq(copy[name]).all().item<bool>(), name);

        using var wrongRank = TinyModels.Llama();
        LoraModel.Attach(wrongRank, Config(rank: 2));
        var e = Assert.Throws<InvalidDataException>(() => LoraModel.Assign(wrongRank, adapter));
        Assert.Contains("q_proj.lora_A.weight", e.Message);
    }

    internal static void RandomiseB(TorchSharp.torch.nn.Module model, long seed)
    {
        var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var (_, layer) in LoraModel.Layers(model))
            if (layer.HasAdapter) layer.LoraB.normal_(0, 0.5, generator: g);
    }
}
