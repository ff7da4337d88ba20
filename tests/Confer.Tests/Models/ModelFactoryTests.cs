using System.Text.Json.Nodes;
using Confer.Models;
using Confer.Models.Llama;
using static TorchSharp.torch;
using Confer.Models.Checkpoints;

namespace Confer.Tests.Models;

/// <summary>One place turns a model folder into a module, chosen by its config.json; an unknown kind is a clear error.</summary>
public class ModelFactoryTests
{
    [Fact]
    public void Loads_by_architecture_and_by_model_type_and_reproduces_the_saved_model()
    {
        using var dir = new TempDir();
        using var original = TinyModels.Llama(seed: 3, arch: "Qwen2ForCausalLM");
        original.SavePretrained(dir.Path);
        using var loaded = ModelFactory.LoadCausalLM(dir.Path);
        Assert.IsType<LlamaForCausalLM>(loaded);
        var ids = TinyModels.RandomIds(5, 1, 6);
        Assert.True(original.forward(new CausalLMInput(ids)).Logits.equal(loaded.forward(new CausalLMInput(ids)).Logits).all().item<bool>());

        // Without `architectures`, HF falls back to `model_type`; so does the factory.
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "config.json")))!.AsObject();
        config.Remove("architectures");
        config["model_type"] = "qwen2";
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), config.ToJsonString());
        Assert.Equal("Qwen2ForCausalLM", ModelFactory.Find(dir.Path, ModelKind.CausalLM).Name);
    }

    [Fact]
    public void An_unregistered_architecture_is_refused_by_name_until_it_is_registered()
    {
        using var dir = new TempDir();
        using (var model = TinyModels.Llama(seed: 4)) model.SavePretrained(dir.Path);
        var configPath = Path.Combine(dir.Path, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["architectures"] = new JsonArray("ConferTestLlamaForCausalLM");
        File.WriteAllText(configPath, config.ToJsonString());

        var e = Assert.Throws<NotSupportedException>(() => ModelFactory.LoadCausalLM(dir.Path));
        Assert.Contains("architectures [ConferTestLlamaForCausalLM] is not a supported causal language model", e.Message, StringComparison.Ordinal);
        Assert.Contains("LlamaForCausalLM", e.Message, StringComparison.Ordinal);

        // Adding an architecture is one registration (here: the LLaMA module under another name).
        ModelFactory.Register(new ModelArchitecture("ConferTestLlamaForCausalLM", null, ModelKind.CausalLM, (folder, dtype, device) =>
        {
            var c = HfConfigJson.Read<LlamaConfig>(Path.Combine(folder, "config.json"));
            c.Architectures = ["LlamaForCausalLM"];
            var m = new LlamaForCausalLM(c, dtype, device);
            Checkpoint.LoadInto(m, folder);
            return m;
        }));
        using var loaded = ModelFactory.LoadCausalLM(dir.Path);
        Assert.Equal(2, loaded.LayerCount);
        Assert.Throws<ArgumentException>(() => ModelFactory.Register(new ModelArchitecture("LlamaForCausalLM", "llama", ModelKind.CausalLM, (_, _, _) => null!)));
        Assert.Throws<NotSupportedException>(() => ModelFactory.LoadEncoder(dir.Path));
    }
}
