using System.Text.Json.Nodes;
using Confer.Models;
using Confer.Models.Llama;
using static TorchSharp.torch;

namespace Confer.Tests.Models;

/// <summary>Foreign model folders: what config.json fields and checkpoint tensors Confer reads, skips or refuses.</summary>
public sealed class HfModelFolderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string SavedTinyModel(string name, Action<JsonObject>? editConfig = null)
    {
        string folder = _dir.File(name);
        using var model = TinyModels.Llama();
        model.SavePretrained(folder);
        if (editConfig is not null)
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
            editConfig(config);
            File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        }
        return folder;
    }

    [Fact]
    public void RotaryInvFreqBuffersOfOlderExportsAreSkippedWithANote()
    {
        string folder = SavedTinyModel("invfreq");
        using (var original = LlamaForCausalLM.FromPretrained(folder))
        {
            var tensors = original.state_dict().ToList();
            tensors.Add(new("model.layers.0.self_attn.rotary_emb.inv_freq", ones(4)));
            tensors.Add(new("model.layers.1.self_attn.rotary_emb.inv_freq", ones(4)));
            Safetensors.Save(Path.Combine(folder, "model.safetensors"), tensors);
        }
        using var loaded = LlamaForCausalLM.FromPretrained(folder);
        Assert.Contains(loaded.LoadNotes, n => n.Contains("skipped 2 rotary_emb.inv_freq", StringComparison.Ordinal));
        using var reference = TinyModels.Llama();
        using var _ = no_grad();
        var ids = TinyModels.RandomIds(2, 1, 9);
        Assert.True(reference.forward(new CausalLMInput(ids)).Logits.eq(loaded.forward(new CausalLMInput(ids)).Logits).all().item<bool>());
    }

    [Fact]
    public void BookkeepingFieldsPassAndEveryFieldReadIsListed()
    {
        string folder = SavedTinyModel("bookkeeping", c =>
        {
            c["transformers_version"] = "4.44.0";
            c["_name_or_path"] = "meta-llama/Llama-3.2-1B";
            c["use_cache"] = true;
            c["pretraining_tp"] = 1;
            c["attention_dropout"] = 0.0;
            c["sliding_window"] = 4096; // transformers' Llama ignores it
        });
        using var model = LlamaForCausalLM.FromPretrained(folder);
        Assert.Equal("meta-llama/Llama-3.2-1B", model.Config.NameOrPath);
        Assert.Null(model.Config.AttentionWindow);
        Assert.Contains("rope_scaling", LlamaConfig.ReadFields);
        Assert.Contains("sliding_window", LlamaConfig.ReadFields);
    }

    [Theory]
    [InlineData("final_logit_softcapping", "30.0", "field 'final_logit_softcapping' is not read")]
    [InlineData("partial_rotary_factor", "0.5", "field 'partial_rotary_factor' is not read")]
    [InlineData("quantization_config", """{"quant_method": "bitsandbytes", "load_in_4bit": true}""", "field 'quantization_config' is not read")]
    [InlineData("attention_dropout", "0.1", "attention_dropout 0.1 is not supported")]
    [InlineData("use_sliding_window", "true", "use_sliding_window true")]
    [InlineData("layer_types", """["sliding_attention", "full_attention"]""", "layer_types has 'sliding_attention'")]
    [InlineData("rope_scaling", """{"rope_type": "yarn", "factor": 4.0}""", "rope_scaling kind 'yarn' is not supported")]
    [InlineData("hidden_act", "\"gelu\"", "hidden_act 'gelu' is not supported")]
    public void MathChangingFieldsConferDoesNotImplementAreRefused(string field, string json, string expected)
    {
        string folder = SavedTinyModel(field, c => c[field] = JsonNode.Parse(json));
        var e = Assert.ThrowsAny<Exception>(() => LlamaForCausalLM.FromPretrained(folder));
        Assert.True(e is NotSupportedException, e.ToString());
        Assert.Contains("config.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MistralSlidingWindowLimitsAttentionToTheLastWindowKeys()
    {
        // One layer: with a window of W keys, position i sees only tokens i−W+1..i, and RoPE depends only on relative
        // positions, so its logits equal those of the last position of a run over exactly those W tokens.
        var config = TinyModels.LlamaConfig(layers: 1, arch: "MistralForCausalLM");
        config.SlidingWindow = 4;
        manual_seed(11);
        using var model = new LlamaForCausalLM(config);
        model.eval();
        using var _ = no_grad();
        var ids = TinyModels.RandomIds(4, 1, 10);
        var full = model.forward(new CausalLMInput(ids)).Logits;
        for (int i = 3; i < 10; i++)
        {
            var window = model.forward(new CausalLMInput(ids.narrow(1, i - 3, 4))).Logits.select(1, 3);
            Assert.True(full.select(1, i).allclose(window, rtol: 1e-4, atol: 1e-5), $"position {i}");
        }
        // Without the window the same weights see everything: the last position differs.
        config.SlidingWindow = null;
        using var unwindowed = new LlamaForCausalLM(config);
        unwindowed.load_state_dict(model.state_dict());
        unwindowed.eval();
        Assert.False(unwindowed.forward(new CausalLMInput(ids)).Logits.select(1, 9).allclose(full.select(1, 9), rtol: 1e-4, atol: 1e-5));
    }
}
