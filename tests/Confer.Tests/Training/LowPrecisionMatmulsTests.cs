using Confer.Configuration;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Peft;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

/// <summary>
/// <c>bf16</c> training (<see cref="LowPrecisionMatmuls"/>): the products with frozen weights equal a float64 product
/// of the bf16-rounded operands, rounded to bf16; everything switches back exactly; trainable weights are left alone;
/// and a short training run follows float32 training within bf16's rounding, deterministically.
/// </summary>
public sealed class LowPrecisionMatmulsTests
{
    private static LlamaForCausalLM Model()
    {
        var model = TinyModels.Llama(seed: 21);
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8 }, new Generator(22));
        using (no_grad())
            foreach (var (_, layer) in LoraModel.Layers(model)) layer.LoraB.normal_(0, 0.1, generator: new Generator(23));
        return model;
    }

    [Fact]
    public void A_frozen_projection_equals_the_float64_product_of_its_bf16_operands()
    {
        manual_seed(5);
        using var layer = new LoraLinear(48, 24, hasBias: true);
        layer.AttachAdapter(4, 8, generator: new Generator(6));
        using (no_grad()) layer.LoraB.normal_(0, 0.1, generator: new Generator(7));
        var x = randn(3, 5, 48, generator: new Generator(8));

        Tensor output;
        using (var lowPrecision = LowPrecisionMatmuls.Enable(layer))
        {
            Assert.Equal(1, lowPrecision.LayerCount);
            Assert.Equal(ScalarType.BFloat16, layer.BaseProductType);
            output = layer.forward(x);
        }
        Assert.Equal(ScalarType.Float32, output.dtype);
        Assert.Equal(ScalarType.Float32, layer.BaseProductType);

        // Independent oracle: both operands rounded to bf16, multiplied in float64, the product rounded to bf16 (the
        // type the bf16 matmul returns); bias and LoRA branch in float64 from the float32 tensors.
        using var _ = no_grad();
        var xd = x.to(ScalarType.Float64);
        var product = x.to(ScalarType.BFloat16).to(ScalarType.Float64).matmul(layer.Weight.to(ScalarType.BFloat16).to(ScalarType.Float64).t())
            .to(ScalarType.BFloat16).to(ScalarType.Float64);
        var lora = xd.matmul(layer.LoraA.to(ScalarType.Float64).t()).matmul(layer.LoraB.to(ScalarType.Float64).t()).mul(layer.Scaling);
        var expected = product + layer.Bias!.to(ScalarType.Float64) + lora;
        // The bf16 kernel accumulates in float32 in its own order, so its rounding may land one bf16 step (2⁻⁸
        // relative) away from the float64 product's.
        var bound = product.abs().mul(1.0 / 128).add(1e-5);
        Assert.True((output.to(ScalarType.Float64) - expected).abs().le(bound).all().item<bool>());
        // And it is the product of the bf16 operands, not of the float32 ones: against the exact product of the float32
        // operands it errs far more than against the oracle.
        var exact = xd.matmul(layer.Weight.to(ScalarType.Float64).t()) + layer.Bias!.to(ScalarType.Float64) + lora;
        var fromOracle = (output.to(ScalarType.Float64) - expected).abs().mean().item<double>();
        var fromExact = (output.to(ScalarType.Float64) - exact).abs().mean().item<double>();
        Assert.True(fromOracle < 0.5 * fromExact, $"mean error {fromOracle} against the bf16 oracle, {fromExact} against the exact product");
    }

    [Fact]
    public void A_merge_while_enabled_reaches_the_copy()
    {
        manual_seed(9);
        using var layer = new LoraLinear(16, 8);
        layer.AttachAdapter(2, 4, generator: new Generator(10));
        using (no_grad()) layer.LoraB.normal_(0, 0.5, generator: new Generator(11));
        var x = randn(4, 16, generator: new Generator(12));
        using var _ = no_grad();
        using var lowPrecision = LowPrecisionMatmuls.Enable(layer);
        var unmerged = layer.forward(x);
        layer.Merge();
        // Merged, the adapter branch is skipped: only a copy of the merged weight gives (nearly) the same output.
        Assert.True((layer.forward(x) - unmerged).abs().max().item<float>() < 0.05f);
        layer.Unmerge();
        Assert.True((layer.forward(x) - unmerged).abs().max().item<float>() < 0.05f);
    }

    [Fact]
    public void The_model_switches_every_frozen_product_and_back_exactly()
    {
        using var model = Model();
        model.eval();
        var input = new CausalLMInput(TinyModels.RandomIds(3, 2, 9));
        using var _ = no_grad();
        var before = model.forward(input).Logits;

        using (var lowPrecision = LowPrecisionMatmuls.Enable(model))
        {
            // 2 layers × 7 projections + the output layer.
            Assert.Equal(2 * 7 + 1, lowPrecision.LayerCount);
            var low = model.forward(input).Logits;
            Assert.Equal(ScalarType.Float32, low.dtype);
            var error = (low - before).abs().max().item<float>();
            Assert.InRange(error, 1e-5f, 0.05f * before.abs().max().item<float>());
        }
        Assert.True(model.forward(input).Logits.equal(before).all().item<bool>());
    }

    [Fact]
    public void A_trainable_weight_keeps_its_float32_product()
    {
        using var model = Model();
        var (_, first) = LoraModel.Layers(model).First();
        first.Weight.requires_grad = true;
        using var lowPrecision = LowPrecisionMatmuls.Enable(model);
        Assert.Equal(2 * 7, lowPrecision.LayerCount);
        Assert.Equal(ScalarType.Float32, first.BaseProductType);
    }

    [Fact]
    public void Bf16_training_follows_float32_training_and_is_deterministic()
    {
        var examples = TrainingData.Examples(31, 16, minLength: 6, maxLength: 24);
        (IReadOnlyList<double> Losses, Dictionary<string, Tensor> Adapter, Tensor Base) Train(bool bf16)
        {
            using var model = Model();
            var options = new TrainerOptions { MaxSteps = 6, MicroBatchSize = 4, LearningRate = 1e-2, Seed = 3, Bf16 = bf16 };
            var result = new LocalTrainer(options).Train(model, examples, cancellationToken: TestContext.Current.CancellationToken);
            Assert.All(LoraModel.Layers(model), l => Assert.Equal(ScalarType.Float32, l.Layer.BaseProductType));
            var adapter = model.named_parameters().Where(p => p.name.Contains("lora_")).ToDictionary(p => p.name, p => p.parameter.detach().clone());
            return (result.StepLosses, adapter, LoraModel.Layers(model).First().Layer.Weight.detach().clone());
        }

        var float32 = Train(bf16: false);
        var bf16 = Train(bf16: true);
        var again = Train(bf16: true);

        Assert.Equal(bf16.Losses, again.Losses);
        Assert.True(float32.Base.equal(bf16.Base).all().item<bool>()); // the base weights are never touched
        for (var i = 0; i < float32.Losses.Count; i++)
            Assert.Equal(float32.Losses[i], bf16.Losses[i], 0.02 * float32.Losses[i]);
        Assert.NotEqual(float32.Losses, bf16.Losses);
        // Every adapter tensor moved as in float32 (the gradient reaches layer 0 through the bf16 products above it).
        using var _ = no_grad();
        using var initial = Model();
        var start = initial.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, trained) in float32.Adapter)
        {
            var step32 = trained - start[name];
            var step16 = bf16.Adapter[name] - start[name];
            var cosine = (step32 * step16).sum().item<float>() / (step32.norm().item<float>() * step16.norm().item<float>());
            Assert.True(cosine > 0.98, $"{name}: cosine {cosine}");
            Assert.True(again.Adapter[name].equal(bf16.Adapter[name]).all().item<bool>(), name);
        }
    }

    [Fact]
    public void A_cpu_without_bf16_units_gets_a_warning()
    {
        // Flag lines as Linux prints them: an AMD Zen 3 (AVX2 only), a Cooper Lake Xeon (AVX512-BF16), a Sapphire Rapids (AMX).
        Assert.Contains("neither AVX512-BF16 nor AMX", LowPrecisionMatmuls.HardwareNote(["processor\t: 0", "flags\t\t: fpu sse2 avx avx2 fma"]));
        Assert.Null(LowPrecisionMatmuls.HardwareNote(["flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni"]));
        Assert.Null(LowPrecisionMatmuls.HardwareNote(["flags\t\t: fpu avx2 avx512f amx_bf16 amx_tile amx_int8"]));
        Assert.Null(LowPrecisionMatmuls.HardwareNote(["processor\t: 0"])); // no flags line: unknown, no warning
    }

    [Fact]
    public void The_bf16_key_is_off_by_default_and_reaches_the_trainer()
    {
        static SimulationSettings Bind(string yaml) => ConfigBinder.BindText<SimulationSettings>(yaml, "test config");
        Assert.False(Bind("").ToTrainerOptions(0).Bf16);
        Assert.True(Bind("bf16: true").ToTrainerOptions(0).Bf16);
    }
}
