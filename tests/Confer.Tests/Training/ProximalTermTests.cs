using Confer.Peft;
using Confer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

public class ProximalTermTests
{
    [Fact]
    public void PenaltyAndItsGradientVanishAtTheAnchor()
    {
        using var weight = new TorchSharp.Modules.Parameter(randn(3, 4, generator: new Generator(1)));
        using var term = new ProximalTerm([weight], mu: 0.5);
        var penalty = term.Penalty();
        Assert.Equal(0f, penalty.item<float>());
        penalty.backward();
        Assert.Equal(0f, weight.grad!.abs().max().item<float>());
        term.AddGradient();
        Assert.Equal(0f, weight.grad!.abs().max().item<float>());
    }

    [Fact]
    public void AddedGradientEqualsAutogradOfThePenalty()
    {
        using var weight = new TorchSharp.Modules.Parameter(randn(3, 4, generator: new Generator(1)));
        using var term = new ProximalTerm([weight], mu: 0.5);
        using (no_grad()) weight.add_(randn(3, 4, generator: new Generator(2)));
        term.Penalty().backward();
        var autograd = weight.grad!.clone();
        weight.grad!.zero_();
        term.AddGradient();
        Assert.True(autograd.allclose(weight.grad!, rtol: 1e-6, atol: 1e-7));
        Assert.True(autograd.abs().max().item<float>() > 0.1f);
    }

    [Fact]
    public void AddedGradientMatchesAHandComputedExample()
    {
        // w₀ = [1, −2, 0.5], w = [2, −2, 0], μ = 0.5: μ(w − w₀) = [0.5, 0, −0.25], added to the task gradient [1, 1, 1];
        // penalty μ/2·‖w − w₀‖² = 0.25·(1 + 0 + 0.25) = 0.3125.
        using var weight = new TorchSharp.Modules.Parameter(tensor(new[] { 1f, -2f, 0.5f }));
        using var term = new ProximalTerm([weight], mu: 0.5);
        using (no_grad()) weight.copy_(tensor(new[] { 2f, -2f, 0f }));
        weight.grad = ones(3);
        term.AddGradient();
        Assert.Equal([1.5f, 1f, 0.75f], weight.grad!.data<float>().ToArray());
        Assert.Equal(0.3125f, term.Penalty().item<float>());
    }

    [Fact]
    public void OptimizerStepsFollowTheTaskGradientPlusTheProximalPull()
    {
        // Plain SGD (lr 0.5) on f(w) = ½w² from w₀ = 1 with μ = 0.4, gradient f'(w) + μ(w − w₀):
        // step 1 at w = w₀: 1 + 0 → w = 1 − 0.5·1 = 0.5; step 2: 0.5 + 0.4·(0.5 − 1) = 0.3 → w = 0.5 − 0.5·0.3 = 0.35.
        using var weight = new TorchSharp.Modules.Parameter(tensor(new[] { 1f }));
        using var term = new ProximalTerm([weight], mu: 0.4);
        using var sgd = optim.SGD([weight], 0.5);
        var options = new TrainerOptions { LearningRate = 0.5, MaxGradNorm = null, Schedule = LearningRateSchedule.Constant };
        var values = new List<float>();
        new OptimizerStepLoop(options, [weight], sgd, term).Run(Enumerable.Range(0, 2).Select(i => (0, i)), 2, _ =>
        {
            weight.square().sum().mul(0.5).backward();
            return new StepStats(1, 1, 1, 1);
        }, _ => values.Add(weight.item<float>()), CancellationToken.None);
        Assert.Equal(0.5f, values[0], 1e-6f);
        Assert.Equal(0.35f, values[1], 1e-6f);
    }

    [Fact]
    public void ZeroMuIsANoOp()
    {
        using var weight = new TorchSharp.Modules.Parameter(randn(5, generator: new Generator(3)));
        using var term = new ProximalTerm([weight], mu: 0);
        using (no_grad()) weight.add_(1.0);
        weight.grad = ones(5);
        term.AddGradient();
        Assert.True(weight.grad!.eq(ones(5)).all().item<bool>());
        Assert.Equal(0f, term.Penalty().item<float>());
    }

    [Fact]
    public void TrainerWithZeroMuMatchesPlainTrainingAndLargeMuShrinksTheUpdate()
    {
        static (IReadOnlyList<double> Losses, double Drift) Run(double mu)
        {
            using var model = TinyModels.Llama();
            LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0 }, new Generator(5));
            using var start = LoraModel.Capture(model);
            var options = new TrainerOptions { LearningRate = 1e-2, MaxSteps = 8, MicroBatchSize = 4, ProximalMu = mu, Schedule = LearningRateSchedule.Constant };
            var result = new LocalTrainer(options).Train(model, TrainingData.Examples(10, 8), cancellationToken: TestContext.Current.CancellationToken);
            using var end = LoraModel.Capture(model);
            var drift = Math.Sqrt(end.Names.Sum(n => (end[n] - start[n]).square().sum().item<float>()));
            return (result.StepLosses, drift);
        }
        var plain = Run(0);
        Assert.Equal(plain.Losses, Run(0).Losses);
        var proximal = Run(10);
        Assert.True(proximal.Drift < plain.Drift, $"‖Δ‖ with μ=10: {proximal.Drift}, without: {plain.Drift}");
    }
}
