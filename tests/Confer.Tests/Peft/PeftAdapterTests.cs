using System.Text.Json;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Peft;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Tests.Peft;

public class PeftAdapterTests
{
    [Fact]
    public void AdapterAndBaseModelRoundTripThroughHfAndPeftFolders()
    {
        var dir = Directory.CreateTempSubdirectory("confer-peft").FullName;
        using var model = TinyModels.Llama();
        model.SavePretrained(Path.Combine(dir, "base"));
        var config = new LoraConfig { Rank = 4, Alpha = 8, RankPattern = { ["v_proj"] = 2 } };
        LoraModel.Attach(model, config, new Generator(3));
        LoraModelTests.RandomiseB(model, 9);
        PeftAdapter.Save(Path.Combine(dir, "adapter"), model, config);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "adapter", "adapter_config.json")));
        Assert.Equal("LORA", json.RootElement.GetProperty("peft_type").GetString());
        Assert.Equal(4, json.RootElement.GetProperty("r").GetInt32());
        Assert.Equal(2, json.RootElement.GetProperty("rank_pattern").GetProperty("v_proj").GetInt32());
        Assert.Equal("pt", SafetensorsFile.ReadMetadata(Path.Combine(dir, "adapter", "adapter_model.safetensors"))["format"]);

        using var reloaded = LlamaForCausalLM.FromPretrained(Path.Combine(dir, "base"));
        PeftAdapter.Load(Path.Combine(dir, "adapter"), reloaded);
        using var _ = no_grad();
        var ids = TinyModels.RandomIds(4, 2, 9);
        model.eval();
        var expected = model.forward(new CausalLMInput(ids)).Logits;
        var actual = reloaded.forward(new CausalLMInput(ids)).Logits;
        Assert.True(expected.eq(actual).all().item<bool>());
    }

    [Fact]
    public void AdapterForAnotherArchitectureIsRejectedAndNothingStaysAttached()
    {
        var dir = Directory.CreateTempSubdirectory("confer-peft").FullName;
        using var model = TinyModels.Llama();
        var config = new LoraConfig { Rank = 4, TargetModules = ["q_proj"] };
        LoraModel.Attach(model, config);
        PeftAdapter.Save(dir, model, config);
        using var bigger = new LlamaForCausalLM(TinyModels.LlamaConfig(hidden: 48, heads: 4, kvHeads: 2));
        var e = Assert.Throws<InvalidDataException>(() => PeftAdapter.Load(dir, bigger));
        Assert.Contains("q_proj.lora_A.weight", e.Message);
        Assert.All(LoraModel.Layers(bigger), l => Assert.False(l.Layer.HasAdapter));
    }

    [Fact]
    public void MissingOrCorruptFilesGiveClearErrors()
    {
        var dir = Directory.CreateTempSubdirectory("confer-peft").FullName;
        using var model = TinyModels.Llama();
        Assert.Throws<FileNotFoundException>(() => PeftAdapter.Load(dir, model));
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 0}");
        var e = Assert.Throws<InvalidDataException>(() => PeftAdapter.Load(dir, model));
        Assert.Contains("r must be positive", e.Message);
    }
}
