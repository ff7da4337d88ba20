using Confer.Data;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Peft;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

/// <summary>
/// The label-only, chunked output layer and loss (<see cref="LabelOnlyLoss"/>) give the loss and gradients of the plain
/// path (logits at every position, <see cref="CausalLMLoss.SummedCrossEntropy"/>, backward), which is the oracle here,
/// on a padded batch whose prompts carry no labels, with chunks small enough that every batch takes several.
/// </summary>
public class LabelOnlyLossTests
{
    private const double Tolerance = 1e-6;

    [Theory]
    [InlineData(false, false)] // LoRA only (the federated case)
    [InlineData(false, true)]  // lm_head trainable too: its gradient sums over chunks
    [InlineData(true, true)]   // tied embeddings trainable: gradient from the input side and the output side
    public void Loss_and_gradients_equal_the_full_logits_path(bool tied, bool trainHead)
    {
        using var model = TinyModels.Llama(seed: 7, tied: tied);
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0 }, new Generator(8));
        using (no_grad())
            foreach (var (_, layer) in LoraModel.Layers(model)) layer.LoraB.normal_(0, 0.1, generator: new Generator(9));
        if (trainHead)
            foreach (var (name, p) in model.named_parameters())
                if (name is "lm_head.weight" or "model.embed_tokens.weight") p.requires_grad = true;
        model.train();
        var examples = InstructionLikeExamples();
        var targets = examples.Sum(e => (long)e.TargetCount);
        using var batch = BatchCollator.Collate(examples);

        model.zero_grad();
        var full = CausalLMLoss.SummedCrossEntropy(model.forward(new CausalLMInput(batch.InputIds)).Logits, batch.Labels);
        full.div(targets).backward();
        var expectedLoss = full.item<float>();
        var expected = Gradients(model);

        model.zero_grad();
        var hidden = model.HiddenStates(new CausalLMInput(batch.InputIds));
        var loss = LabelOnlyLoss.SumAndBackward(model, hidden, batch.Labels, targets, chunkElements: 97 * 5);
        var actual = Gradients(model);

        Assert.Equal(expectedLoss, loss, expectedLoss * Tolerance);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        if (trainHead) Assert.Contains(tied ? "model.embed_tokens.weight" : "lm_head.weight", actual.Keys);
        foreach (var (name, grad) in expected)
        {
            var diff = (grad - actual[name]).abs().max().item<float>();
            var scale = grad.abs().max().item<float>();
            Assert.True(diff <= Tolerance * Math.Max(1, scale), $"{name}: max diff {diff} (gradient max {scale})");
        }
    }

    [Fact]
    public void A_batch_without_labels_gives_zero_and_no_gradient()
    {
        using var model = TinyModels.Llama(seed: 7);
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0 }, new Generator(8));
        var ids = TinyModels.RandomIds(3, 2, 6);
        var labels = full(2, 6, TokenizedExample.IgnoreLabel, dtype: ScalarType.Int64);
        model.zero_grad();
        Assert.Equal(0, LabelOnlyLoss.SumAndBackward(model, model.HiddenStates(new CausalLMInput(ids)), labels, 1));
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void Frozen_embeddings_give_no_input_gradient_below_the_first_layer()
    {
        // Autograd computes an input gradient only for tensors that require one: with the embedding frozen, the decoder's
        // input does not, so backward stops at the lowest LoRA weight instead of reaching the [tokens × hidden] input.
        using var model = TinyModels.Llama(seed: 7);
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0 }, new Generator(8));
        var embedding = model.named_modules().Single(m => m.name == "model.embed_tokens").module as TorchSharp.Modules.Embedding;
        using var embedded = embedding!.forward(TinyModels.RandomIds(3, 2, 6));
        Assert.False(embedded.requires_grad);
    }

    /// <summary>Right-padded examples of different lengths whose first tokens (the "prompt") carry no label.</summary>
    private static List<TokenizedExample> InstructionLikeExamples()
    {
        var random = new Random(12);
        return new[] { (9, 4), (14, 6), (5, 2), (11, 11) }.Select(x =>
        {
            var ids = Enumerable.Range(0, x.Item1).Select(_ => random.Next(1, 97)).ToArray();
            var labels = ids.Select((id, i) => i < x.Item2 ? TokenizedExample.IgnoreLabel : id).ToArray();
            return new TokenizedExample(ids, labels);
        }).ToList();
    }

    private static Dictionary<string, Tensor> Gradients(LlamaForCausalLM model) =>
        model.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone());
}
