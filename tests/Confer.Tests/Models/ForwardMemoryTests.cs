using Confer.Models;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Tests.Models;

/// <summary>
/// TorchSharp keeps a tensor's memory alive as long as its handle, and a training step's dispose scope holds every
/// handle made during the step; PyTorch frees an intermediate as soon as nothing refers to it. The decoder layers
/// therefore dispose their intermediates when they return (autograd keeps what backward needs), so a LoRA training
/// forward leaves a few tensors per layer in the caller's scope rather than every intermediate, and still trains.
/// </summary>
public class ForwardMemoryTests
{
    [Fact]
    public void A_lora_training_forward_leaves_a_few_tensors_per_layer_in_the_callers_scope()
    {
        using var model = TinyModels.Llama();
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0 }, new Generator(3));
        using var ids = TinyModels.RandomIds(7, 2, 9);
        using var scope = NewDisposeScope();

        var logits = model.forward(new CausalLMInput(ids)).Logits;

        // Two layers: each leaves its output (the next norm's saved input); embeddings, norm and head a few more.
        // Measured: 5; 125 before the layers disposed their intermediates.
        var left = scope.DisposablesCount;
        Assert.True(left <= 8, $"{left} tensors left in the caller's scope");
        logits.pow(2).mean().backward();
        var layers = LoraModel.Layers(model).ToList();
        Assert.Equal(14, layers.Count);
        Assert.All(layers, l => Assert.True(l.Layer.LoraB.grad is { } g && g.abs().sum().item<float>() > 0, $"{l.Path}: no gradient"));
    }
}
