using System.Text.Json;
using Confer.Models;
using Confer.Peft;
using Confer.Peft.Bottleneck;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Tests.Peft;

public class BottleneckAdapterTests
{
    [Fact]
    public void AFreshAdapterIsTheIdentityAndOnlyAdaptersTrain()
    {
        using var model = TinyModels.Llama(2);
        var ids = TinyModels.RandomIds(1, 2, 7);
        using var _ = no_grad();
        var before = model.forward(new CausalLMInput(ids)).Logits.clone();
        using (var g = new Generator(4)) new BottleneckTuner(8, AdapterPlacement.Houlsby, AdapterActivation.Relu, 0).Attach(model, null, 1, 1, 0, g);
        Assert.True(before.equal(model.forward(new CausalLMInput(ids)).Logits).all().item<bool>(), "W_up = 0: the adapter adds nothing");
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(2 * 2 * 4, trainable.Count); // 2 layers × (attention, MLP) × (down, up) × (weight, bias)
        Assert.All(trainable, n => Assert.Matches(@"^model\.layers\.\d\.(attn|mlp)_adapter\.(down|up)\.(weight|bias)$", n));
    }

    /// <summary>Oracle: y + W_up·relu(W_down·y + b_down) + b_up, computed by hand for a 2-d stream and a width-1 bottleneck.</summary>
    [Fact]
    public void TheAdapterAddsUpTimesActivationOfDownToItsInput()
    {
        using var adapter = new BottleneckAdapter();
        adapter.Attach(2, 1, AdapterActivation.Relu, ScalarType.Float32, CPU, new Generator(1));
        var p = adapter.Tensors().ToDictionary(t => t.Name, t => t.Value);
        using (no_grad())
        {
            p["down.weight"].copy_(tensor(new float[,] { { 1, -2 } }));
            p["down.bias"].copy_(tensor(new float[] { 0.5f }));
            p["up.weight"].copy_(tensor(new float[,] { { 3 }, { -1 } }));
            p["up.bias"].copy_(tensor(new float[] { 0.25f, 0 }));
        }
        using var __ = no_grad();
        // y = (2, 0.5): down = 2 − 1 + 0.5 = 1.5 → relu 1.5 → up = (4.5, −1.5) + (0.25, 0) → y + … = (6.75, −1).
        // y = (0, 1): down = −2 + 0.5 = −1.5 → relu 0 → up = (0.25, 0) → (0.25, 1).
        var y = adapter.forward(tensor(new float[,] { { 2, 0.5f }, { 0, 1 } }));
        Assert.Equal(new float[] { 6.75f, -1, 0.25f, 1 }, y.data<float>().ToArray());
    }

    [Fact]
    public void PfeifferAdaptsOnlyTheMlpAndTopLayersOnlyTheTop()
    {
        using var model = TinyModels.Llama(2);
        using (var g = new Generator(4)) new BottleneckTuner(4, AdapterPlacement.Pfeiffer, AdapterActivation.Gelu, 1).Attach(model, null, 1, 1, 0, g);
        var keys = new BottleneckTuner(4, AdapterPlacement.Pfeiffer, AdapterActivation.Gelu, 1).Capture(model).Names;
        Assert.Equal(
            ["base_model.model.model.layers.1.mlp_adapter.down.weight", "base_model.model.model.layers.1.mlp_adapter.down.bias",
             "base_model.model.model.layers.1.mlp_adapter.up.weight", "base_model.model.model.layers.1.mlp_adapter.up.bias"], keys);
    }

    [Fact]
    public void ABottleneckFolderKeepsPeftsConventionsAndReproducesTheModel()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Llama(2);
        var tuner = new BottleneckTuner(6, AdapterPlacement.Houlsby, AdapterActivation.Silu, 1);
        using (var g = new Generator(4)) tuner.Attach(model, null, 1, 1, 0, g);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters().Where(p => p.parameter.requires_grad)) p.normal_(0, 0.1);
        using (var trained = tuner.Capture(model)) tuner.Save(dir.Path, trained, AdapterFolderInfo.Of(model, "base"));

        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("adapter_config.json")));
        var root = json.RootElement;
        Assert.Equal("BOTTLENECK", root.GetProperty("peft_type").GetString());
        Assert.Equal(6, root.GetProperty("bottleneck_size").GetInt32());
        Assert.Equal(32, root.GetProperty("hidden_size").GetInt32());
        Assert.Equal("houlsby", root.GetProperty("placement").GetString());
        Assert.Equal("silu", root.GetProperty("non_linearity").GetString());
        Assert.Equal([1], root.GetProperty("layers_to_transform").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("pt", SafetensorsFile.ReadMetadata(dir.File("adapter_model.safetensors"))["format"]);
        using (var saved = SafetensorsFile.Load(dir.File("adapter_model.safetensors")))
        {
            Assert.Equal(8, saved.Count);
            Assert.Equal([6L, 32L], saved["base_model.model.model.layers.1.attn_adapter.down.weight"].shape);
            Assert.Equal([32L, 6L], saved["base_model.model.model.layers.1.mlp_adapter.up.weight"].shape);
        }

        using var reloaded = TinyModels.Llama(2);
        Assert.Equal(PeftMethod.Adapter, PeftAdapter.LoadAny(dir.Path, reloaded));
        var ids = TinyModels.RandomIds(3, 2, 6);
        using var _ = no_grad();
        Assert.True(model.forward(new CausalLMInput(ids)).Logits.equal(reloaded.forward(new CausalLMInput(ids)).Logits).all().item<bool>());

        using var wider = new Confer.Models.Llama.LlamaForCausalLM(TinyModels.LlamaConfig(hidden: 48));
        Assert.Contains("hidden_size 32", Assert.Throws<InvalidDataException>(() => PeftAdapter.LoadAny(dir.Path, wider)).Message);
    }
}
