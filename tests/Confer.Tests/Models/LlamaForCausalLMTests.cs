using Confer.Models;
using Confer.Models.Llama;
using static TorchSharp.torch;

namespace Confer.Tests.Models;

public class LlamaForCausalLMTests
{
    [Fact]
    public void ParameterNamesAndShapesFollowHuggingFace()
    {
        using var model = TinyModels.Llama();
        var shapes = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal([97L, 32L], shapes["model.embed_tokens.weight"]);
        Assert.Equal([32L, 32L], shapes["model.layers.0.self_attn.q_proj.weight"]);
        Assert.Equal([16L, 32L], shapes["model.layers.1.self_attn.k_proj.weight"]); // 2 kv heads × head dim 8
        Assert.Equal([72L, 32L], shapes["model.layers.0.mlp.gate_proj.weight"]);
        Assert.Equal([32L, 72L], shapes["model.layers.0.mlp.down_proj.weight"]);
        Assert.Equal([32L], shapes["model.layers.0.input_layernorm.weight"]);
        Assert.Equal([32L], shapes["model.norm.weight"]);
        Assert.Equal([97L, 32L], shapes["lm_head.weight"]);
        Assert.Equal(2 * 9 + 3, shapes.Count);
    }

    [Fact]
    public void Qwen2HasQkvBiasesAndTiedModelHasNoLmHead()
    {
        using var qwen = TinyModels.Llama(arch: "Qwen2ForCausalLM", tied: true);
        var keys = qwen.state_dict().Keys.ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", keys);
        Assert.Contains("model.layers.0.self_attn.v_proj.bias", keys);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", keys);
        Assert.DoesNotContain("lm_head.weight", keys);
    }

    [Fact]
    public void UnknownArchitectureIsRejected()
    {
        var config = TinyModels.LlamaConfig(arch: "GemmaForCausalLM");
        var e = Assert.Throws<NotSupportedException>(() => new LlamaForCausalLM(config));
        Assert.Contains("GemmaForCausalLM", e.Message);
        Assert.Contains("LlamaForCausalLM", e.Message);
    }

    [Fact]
    public void IncrementalDecodingWithCacheMatchesFullForward()
    {
        using var model = TinyModels.Llama();
        using var _ = no_grad();
        var ids = TinyModels.RandomIds(3, 2, 12);
        var full = model.forward(new CausalLMInput(ids)).Logits;
        using var cache = new KVCache(model.LayerCount);
        var prefix = model.forward(new CausalLMInput(ids.narrow(1, 0, 7), Cache: cache)).Logits;
        var steps = new List<Tensor> { prefix };
        for (var t = 7; t < 12; t++) steps.Add(model.forward(new CausalLMInput(ids.narrow(1, t, 1), Cache: cache)).Logits);
        var incremental = cat(steps, 1);
        Assert.True(full.allclose(incremental, rtol: 1e-4, atol: 1e-5), $"max diff {(full - incremental).abs().max().item<float>()}");
    }

    [Fact]
    public void LeftPaddedBatchMatchesUnpaddedSequence()
    {
        using var model = TinyModels.Llama();
        using var _ = no_grad();
        var ids = TinyModels.RandomIds(5, 1, 6);
        var alone = model.forward(new CausalLMInput(ids)).Logits;
        var padded = cat([zeros(1, 3, dtype: ScalarType.Int64), ids], 1);
        var mask = cat([zeros(1, 3, dtype: ScalarType.Int64), ones(1, 6, dtype: ScalarType.Int64)], 1);
        var logits = model.forward(new CausalLMInput(padded, mask)).Logits.narrow(1, 3, 6);
        Assert.True(alone.allclose(logits, rtol: 1e-4, atol: 1e-5));
        Assert.False(model.forward(new CausalLMInput(padded, mask)).Logits.isnan().any().item<bool>());
    }
}
