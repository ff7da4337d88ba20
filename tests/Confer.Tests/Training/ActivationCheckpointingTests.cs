using Confer.Data;
using Confer.Models.Llama;
using Confer.Peft;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

/// <summary>
/// Activation checkpointing per decoder layer (<see cref="LlamaForCausalLM.GradientCheckpointing"/>) changes what is
/// kept, not what is computed: the loss and every gradient equal the plain backward's, which is the oracle.
/// </summary>
public sealed class ActivationCheckpointingTests
{
    private const double Tolerance = 1e-6;

    private static LlamaForCausalLM Model(double dropout = 0)
    {
        var model = TinyModels.Llama(seed: 13);
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = dropout }, new Generator(14));
        using (no_grad())
            foreach (var (_, layer) in LoraModel.Layers(model)) layer.LoraB.normal_(0, 0.1, generator: new Generator(15));
        model.train();
        return model;
    }

    private static (double Loss, Dictionary<string, Tensor> Gradients) Step(LlamaForCausalLM model, bool checkpoint, bool packing)
    {
        model.GradientCheckpointing = checkpoint;
        model.zero_grad();
        manual_seed(99); // the same dropout masks in both runs
        var examples = TrainingData.Examples(17, 6, minLength: 4, maxLength: 20);
        var stats = LocalTrainer.AccumulateGradients(model, [examples[..3], examples[3..]], 0, CPU, packing);
        model.GradientCheckpointing = false;
        return (stats.LossSum, model.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
    }

    [Theory]
    [InlineData(false, false, 0.0)] // LoRA only: the first layer's input needs no gradient
    [InlineData(false, true, 0.0)]  // packed rows: the recomputation must reuse the block-diagonal mask and positions
    [InlineData(true, false, 0.0)]  // trainable embeddings: the input gradient flows through every checkpointed layer
    [InlineData(false, false, 0.3)] // LoRA dropout: the recomputation must draw the forward's masks again
    public void Loss_and_gradients_equal_the_plain_backward(bool trainEmbeddings, bool packing, double dropout)
    {
        using var model = Model(dropout);
        if (trainEmbeddings) model.InputEmbeddings.weight!.requires_grad = true;
        var (plainLoss, plain) = Step(model, checkpoint: false, packing);
        var (loss, checkpointed) = Step(model, checkpoint: true, packing);

        Assert.Equal(plainLoss, loss, plainLoss * Tolerance);
        Assert.Equal(plain.Keys.Order(), checkpointed.Keys.Order());
        Assert.Contains(plain.Keys, k => k.Contains("layers.0.") && k.Contains("lora_A"));
        if (trainEmbeddings) Assert.Contains("model.embed_tokens.weight", checkpointed.Keys);
        foreach (var (name, grad) in plain)
        {
            var diff = (grad - checkpointed[name]).abs().max().item<float>();
            Assert.True(diff <= Tolerance * Math.Max(1, grad.abs().max().item<float>()), $"{name}: max diff {diff}");
        }
    }

    [Fact]
    public void Backward_recomputes_the_layers_from_their_inputs()
    {
        // Zero every LoRA B between forward and backward. A recomputing backward sees B = 0, so every lora_A gradient
        // (∝ B) is 0. The plain backward kept B for its own use and refuses, because B changed in place after it was saved.
        using var model = Model();
        var examples = TrainingData.Examples(19, 3, minLength: 4, maxLength: 12);
        using var batch = BatchCollator.Collate(examples);
        var targets = examples.Sum(e => (long)e.TargetCount);
        void ZeroB()
        {
            using (no_grad())
                foreach (var (_, layer) in LoraModel.Layers(model)) layer.LoraB.zero_();
        }

        model.GradientCheckpointing = true;
        model.zero_grad();
        var hidden = model.HiddenStates(new Confer.Models.CausalLMInput(batch.InputIds));
        ZeroB();
        LabelOnlyLoss.SumAndBackward(model, hidden, batch.Labels, targets);
        var grads = model.named_parameters().Where(p => p.parameter.grad is not null).ToList();
        Assert.All(grads.Where(p => p.name.Contains("lora_A")), p => Assert.Equal(0, p.parameter.grad!.abs().max().item<float>()));
        Assert.Contains(grads, p => p.name.Contains("lora_B") && p.parameter.grad!.abs().max().item<float>() > 0);

        using (no_grad())
            foreach (var (_, layer) in LoraModel.Layers(model)) layer.LoraB.normal_(0, 0.1);
        model.GradientCheckpointing = false;
        var plainHidden = model.HiddenStates(new Confer.Models.CausalLMInput(batch.InputIds));
        ZeroB();
        Assert.ThrowsAny<Exception>(() => LabelOnlyLoss.SumAndBackward(model, plainHidden, batch.Labels, targets));
    }

    [Fact]
    public void The_trainer_option_trains_the_same_and_restores_the_model_setting()
    {
        var examples = TrainingData.Examples(18, 16, minLength: 4, maxLength: 20);
        double[] Train(bool checkpoint)
        {
            using var model = Model();
            var options = new TrainerOptions { MaxSteps = 4, MicroBatchSize = 4, LearningRate = 1e-2, Seed = 2, ActivationCheckpointing = checkpoint };
            var losses = new LocalTrainer(options).Train(model, examples, cancellationToken: TestContext.Current.CancellationToken).StepLosses;
            Assert.False(model.GradientCheckpointing);
            return [.. losses];
        }
        Assert.Equal(Train(false), Train(true), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Max(1, Math.Abs(a)));
    }

    [Fact]
    public void Evaluation_under_no_grad_is_unaffected()
    {
        using var model = Model();
        using var ids = TinyModels.RandomIds(3, 2, 9);
        using var plain = model.forward(new Confer.Models.CausalLMInput(ids)).Logits.detach();
        model.GradientCheckpointing = true;
        using (no_grad())
        {
            using var logits = model.forward(new Confer.Models.CausalLMInput(ids)).Logits;
            Assert.True(logits.allclose(plain, rtol: 0, atol: 1e-6));
        }
    }
}
