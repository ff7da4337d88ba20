using System.Text.Json.Nodes;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Tests.Peft;

/// <summary>adapter_config.json fields with PEFT's meaning: rsLoRA, every target_modules form, patterns, the refused fields.</summary>
public sealed class PeftConfigFidelityTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static LoraConfig FromJson(string json)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, json);
            return LoraConfig.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static IReadOnlyList<string> Adapted(string targetModulesJson, string extra = "")
    {
        using var model = TinyModels.Llama();
        return LoraModel.Attach(model, FromJson($$"""{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": {{targetModulesJson}}{{extra}}}"""));
    }

    [Fact]
    public void RsLoraScalesByAlphaOverRootRankInForwardMergeAndFile()
    {
        using var model = TinyModels.Llama();
        var config = FromJson("""{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "use_rslora": true, "target_modules": ["q_proj"], "lora_dropout": 0.0}""");
        LoraModel.Attach(model, config, new Generator(5));
        LoraModelTests.RandomiseB(model, 6);
        var (path, layer) = LoraModel.Layers(model).First(l => l.Layer.HasAdapter);
        Assert.Equal(4.0, layer.Scaling); // 8 / √4, where plain LoRA would use 8 / 4 = 2

        using var _ = no_grad();
        // Hand merge: W + (α/√r)·B·A, and the layer's output with the adapter equals x·(W + 4·B·A)ᵀ.
        var expectedWeight = layer.Weight + 4.0 * layer.LoraB.matmul(layer.LoraA);
        var x = randn(3, layer.InFeatures, generator: new Generator(8));
        Assert.True(layer.forward(x).allclose(x.matmul(expectedWeight.t()), rtol: 1e-5, atol: 1e-5));
        layer.Merge();
        Assert.True(layer.Weight.allclose(expectedWeight, rtol: 1e-6, atol: 1e-6));
        layer.Unmerge();

        string folder = _dir.File("rslora");
        PeftAdapter.Save(folder, model, config);
        Assert.Contains("\"use_rslora\": true", File.ReadAllText(Path.Combine(folder, "adapter_config.json")));
        using var reloaded = TinyModels.Llama();
        PeftAdapter.Load(folder, reloaded);
        var ids = TinyModels.RandomIds(3, 1, 7);
        Assert.True(model.forward(new CausalLMInput(ids)).Logits.allclose(reloaded.forward(new CausalLMInput(ids)).Logits, rtol: 1e-5, atol: 1e-6)); // merge+unmerge rounds W
        Assert.Equal(4.0, LoraModel.Layers(reloaded).Single(l => l.Path == path).Layer.Scaling);
    }

    [Fact]
    public void TargetModulesAsListRegexAllLinearOrNullFollowPeft()
    {
        Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"], Adapted("""["q_proj"]"""));
        // A string is a regex that must match the whole module path (re.fullmatch).
        Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"],
            Adapted("\".*\\\\.(q_proj|v_proj)\""));
        Assert.Equal(["model.layers.1.mlp.down_proj"], Adapted("\".*1\\\\.mlp\\\\.down_proj\""));
        Assert.DoesNotContain(Adapted("""["q_proj", "down_proj"]"""), p => p.Contains("up_proj", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => Adapted("\"q_proj\"")); // fullmatch: "q_proj" is no module's whole path
        Assert.Equal(14, Adapted("\"all-linear\"").Count); // 7 projections × 2 layers; lm_head is never adapted
        Assert.Equal(14, Adapted("\"ALL-LINEAR\"").Count);
        // null: PEFT's defaults for LLaMA-family models.
        Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"],
            Adapted("null"));
        using (var model = TinyModels.Llama()) // no target_modules at all means null too
            Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"],
                LoraModel.Attach(model, FromJson("""{"peft_type": "LORA", "r": 2}""")));
        Assert.Equal(12, Adapted("\"all-linear\"", """, "exclude_modules": ["o_proj"]""").Count);
        Assert.Equal(13, Adapted("\"all-linear\"", ", \"exclude_modules\": \"model\\\\.layers\\\\.0\\\\.mlp\\\\.up_proj\"").Count);
    }

    [Fact]
    public void StringTargetsRoundTripThroughTheFile()
    {
        var config = FromJson("""{"peft_type": "LORA", "r": 2, "target_modules": "all-linear"}""");
        Assert.Contains("\"target_modules\": \"all-linear\"", config.ToJson());
        Assert.Contains("\"target_modules\": [\n    \"q_proj\"", new LoraConfig { TargetModules = ["q_proj"] }.ToJson());
    }

    [Fact]
    public void AllLinearIsRefusedWherePeftWouldAdaptALayerConferCannot()
    {
        using var bert = new Confer.Models.Bert.BertForSequenceClassification(TinyBert.Config());
        var e = Assert.Throws<NotSupportedException>(() => LoraModel.Attach(bert, new LoraConfig { TargetModulesPattern = "all-linear", TaskType = "SEQ_CLS" }));
        Assert.Contains("all-linear", e.Message);
    }

    [Fact]
    public void RankAndAlphaPatternsSetEachModulesScale()
    {
        using var model = TinyModels.Llama();
        LoraModel.Attach(model, FromJson("""
            {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"],
             "rank_pattern": {"v_proj": 2, "model.layers.1.self_attn.q_proj": 4}, "alpha_pattern": {"layers\\.0\\.self_attn\\.q_proj": 4}}
            """));
        var layers = LoraModel.Layers(model).Where(l => l.Layer.HasAdapter).ToDictionary(l => l.Path, l => (l.Layer.Rank, l.Layer.Scaling));
        Assert.Equal((8, 4.0 / 8), layers["model.layers.0.self_attn.q_proj"]);
        Assert.Equal((4, 16.0 / 4), layers["model.layers.1.self_attn.q_proj"]);
        Assert.Equal((2, 16.0 / 2), layers["model.layers.0.self_attn.v_proj"]);
        Assert.Equal((2, 16.0 / 2), layers["model.layers.1.self_attn.v_proj"]);
    }

    [Theory]
    [InlineData("\"modules_to_save\": [\"lm_head\"]", "modules_to_save")]
    [InlineData("\"use_dora\": true", "use_dora")]
    [InlineData("\"bias\": \"lora_only\"", "bias")]
    [InlineData("\"bias\": \"all\"", "bias")]
    [InlineData("\"fan_in_fan_out\": true", "fan_in_fan_out")]
    [InlineData("\"init_lora_weights\": \"pissa\"", "init_lora_weights")]
    [InlineData("\"layers_to_transform\": [0]", "layers_to_transform")]
    [InlineData("\"layer_replication\": [[0, 2], [1, 2]]", "layer_replication")]
    [InlineData("\"loftq_config\": {\"loftq_bits\": 4}", "loftq_config")]
    [InlineData("\"lora_bias\": true", "lora_bias")]
    [InlineData("\"use_qalora\": true", "field 'use_qalora'")]
    [InlineData("\"trainable_token_indices\": [5, 6]", "field 'trainable_token_indices'")]
    [InlineData("\"target_parameters\": [\"mlp.experts.gate_up_proj\"]", "field 'target_parameters'")]
    public void FieldsThatChangeTheMathAndAreNotImplementedAreRefused(string field, string expected)
    {
        var e = Assert.Throws<NotSupportedException>(() => FromJson($$"""{"peft_type": "LORA", "r": 2, "target_modules": ["q_proj"], {{field}}}"""));
        Assert.Contains(expected, e.Message);
        Assert.Contains(".tmp", e.Message); // names the file
    }

    [Fact]
    public void BookkeepingAndUnusedDefaultsOfRealPeftFilesLoad()
    {
        var config = FromJson("""
            {"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "Qwen/Qwen2.5-0.5B", "bias": "none",
             "eva_config": null, "exclude_modules": null, "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true,
             "layer_replication": null, "layers_pattern": null, "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 32,
             "lora_bias": false, "lora_dropout": 0.05, "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null,
             "peft_type": "LORA", "r": 16, "rank_pattern": {}, "revision": null, "target_modules": ["k_proj", "q_proj"],
             "task_type": "CAUSAL_LM", "use_dora": false, "use_rslora": false, "trainable_token_indices": null, "qalora_group_size": 16,
             "use_qalora": false, "corda_config": null}
            """);
        using var model = TinyModels.Llama();
        LoraModel.Attach(model, config);
        Assert.Equal(2.0, LoraModel.Layers(model).First(l => l.Layer.HasAdapter).Layer.Scaling); // 32 / 16
    }

    [Fact]
    public void SavedAdaptersRecordTheBaseModelsNameNotALocalPath()
    {
        string named = _dir.File("named");
        using (var model = TinyModels.Llama()) model.SavePretrained(named);
        var configPath = Path.Combine(named, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        json["_name_or_path"] = "meta-llama/Llama-3.2-1B";
        File.WriteAllText(configPath, json.ToJsonString());
        string plain = _dir.File("my-base");
        using (var model = TinyModels.Llama()) model.SavePretrained(plain);

        foreach (var (baseFolder, expected) in new[] { (named, "meta-llama/Llama-3.2-1B"), (plain + "/", "my-base"), ("org/hub-id", "org/hub-id") })
        {
            using var model = TinyModels.Llama();
            var config = new LoraConfig { Rank = 2, TargetModules = ["q_proj"], BaseModelNameOrPath = baseFolder };
            LoraModel.Attach(model, config);
            string adapter = _dir.File("adapter-" + Guid.NewGuid().ToString("N"));
            PeftAdapter.Save(adapter, model, config);
            Assert.Equal(expected, PeftAdapter.ReadConfig(adapter).BaseModelNameOrPath);
        }
    }
}
