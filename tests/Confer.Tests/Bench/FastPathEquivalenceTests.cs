using Confer.Data;
using Confer.Models;
using Confer.Peft;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Tests.Bench;

/// <summary>
/// The performance shortcuts of the training and decoding paths compute the same thing as the general path they skip:
/// shifted labels instead of narrowed logits, no mask for an unpadded training batch, no mask for a decode step.
/// </summary>
public class FastPathEquivalenceTests
{
    [Fact]
    public void ShiftedLabelLossEqualsLossOnNarrowedLogitsWithTheSameGradient()
    {
        var generator = new Generator(11);
        using var logits = randn([3, 7, 13], generator: generator).requires_grad_();
        var labels = randint(0, 13, [3, 7], generator: generator, dtype: ScalarType.Int64);
        labels[0, 2] = TokenizedExample.IgnoreLabel;
        labels[2, 6] = TokenizedExample.IgnoreLabel;
        labels[1, 0] = TokenizedExample.IgnoreLabel; // position 0 is never a target either way

        var fast = CausalLMLoss.SummedCrossEntropy(logits, labels);
        var fastGrad = autograd.grad([fast], [logits])[0];
        var reference = nn.functional.cross_entropy(
            logits.narrow(1, 0, 6).reshape(-1, 13), labels.narrow(1, 1, 6).reshape(-1),
            ignore_index: TokenizedExample.IgnoreLabel, reduction: nn.Reduction.Sum);
        var referenceGrad = autograd.grad([reference], [logits])[0];

        Assert.Equal(reference.item<float>(), fast.item<float>(), 4);
        Assert.True(fastGrad.allclose(referenceGrad, rtol: 1e-5, atol: 1e-6));
        Assert.Equal(0f, fastGrad.select(1, 6).abs().sum().item<float>()); // the last position predicts nothing
    }

    [Fact]
    public void UnpaddedBatchGetsTheSameGradientsAsWithAnAllOnesMask()
    {
        using var model = TinyModels.Llama();
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0 }, new Generator(3));
        using (no_grad())
            foreach (var (_, layer) in LoraModel.Layers(model)) layer.LoraB.normal_(0, 0.1, generator: new Generator(4));
        var random = new Random(5);
        var examples = Enumerable.Range(0, 3).Select(_ =>
        {
            var ids = Enumerable.Range(0, 9).Select(_ => random.Next(1, 97)).ToArray();
            return new TokenizedExample(ids, ids);
        }).ToList();

        model.zero_grad();
        LocalTrainer.AccumulateGradients(model, [examples], 0, CPU); // unpadded: runs without a mask
        var fast = LoraGradients(model);
        model.zero_grad();
        using (var batch = BatchCollator.Collate(examples))
        {
            var logits = model.forward(new CausalLMInput(batch.InputIds, batch.AttentionMask)).Logits;
            CausalLMLoss.SummedCrossEntropy(logits, batch.Labels).div(examples.Sum(e => e.TargetCount)).backward();
        }
        var masked = LoraGradients(model);

        Assert.NotEmpty(fast);
        foreach (var (name, grad) in fast)
            Assert.True(grad.allclose(masked[name], rtol: 1e-4, atol: 1e-6), $"{name}: max diff {(grad - masked[name]).abs().max().item<float>()}");
    }

    [Fact]
    public void DecodeStepWithoutMaskEqualsTheStepWithAnAllOnesMask()
    {
        using var model = TinyModels.Llama();
        using var _ = no_grad();
        var ids = TinyModels.RandomIds(6, 2, 8);
        using var plainCache = new KVCache(model.LayerCount);
        using var maskedCache = new KVCache(model.LayerCount);
        model.forward(new CausalLMInput(ids.narrow(1, 0, 7), Cache: plainCache));
        model.forward(new CausalLMInput(ids.narrow(1, 0, 7), ones(2, 7, dtype: ScalarType.Int64), maskedCache));

        var plain = model.forward(new CausalLMInput(ids.narrow(1, 7, 1), Cache: plainCache)).Logits;
        var masked = model.forward(new CausalLMInput(ids.narrow(1, 7, 1), ones(2, 8, dtype: ScalarType.Int64), maskedCache)).Logits;
        var full = model.forward(new CausalLMInput(ids)).Logits.narrow(1, 7, 1);

        Assert.True(plain.allclose(masked, rtol: 1e-4, atol: 1e-5), $"max diff {(plain - masked).abs().max().item<float>()}");
        Assert.True(plain.allclose(full, rtol: 1e-4, atol: 1e-5), $"max diff {(plain - full).abs().max().item<float>()}");
    }

    private static Dictionary<string, Tensor> LoraGradients(nn.Module model) =>
        model.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone());
}
