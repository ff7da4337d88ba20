using Confer.Federation;
using Confer.Federation.Updates;
using Confer.Models;
using Confer.Peft;
using Confer.Privacy.DifferentialPrivacy;
using static TorchSharp.torch;

namespace Confer.Tests.Privacy;

/// <summary>DP-FedAvg's parts against algorithms.md §7.1–7.2: the RDP accountant's reference values, clipping, noise.</summary>
public class DifferentialPrivacyTests
{
    [Fact]
    public void Rdp_accountant_matches_the_opacus_docstring_example()
    {
        var accountant = new RdpAccountant(maxOrder: 32);
        accountant.Step(1e-5, 1.0, 10);
        accountant.Step(1e-4, 3.0, 4);
        var (epsilon, order) = accountant.Epsilon(1e-5);
        Assert.Equal(0.3363, epsilon, 4);
        Assert.Equal(23, order);
    }

    [Theory]
    [InlineData(1.0, 1.0, 1, 4.7527, 5)]
    [InlineData(0.01, 1.0, 1000, 2.1078, 8)]
    [InlineData(0.01, 1.1, 10000, 5.6543, 5)]
    [InlineData(0.001, 1.0, 1000, 0.6778, 13)]
    [InlineData(0.1, 1.0, 100, 7.9729, 3)]
    public void Rdp_accountant_matches_the_reference_values(double q, double sigma, int steps, double expected, int expectedOrder)
    {
        var accountant = new RdpAccountant();
        accountant.Step(q, sigma, steps);
        var (epsilon, order) = accountant.Epsilon(1e-5);
        Assert.Equal(expected, epsilon, 4);
        Assert.Equal(expectedOrder, order);
    }

    [Fact]
    public void Epsilon_grows_with_rounds_and_sampling_rate_and_falls_with_noise()
    {
        static double Eps(double q, double sigma, int steps)
        {
            var a = new RdpAccountant();
            a.Step(q, sigma, steps);
            return a.Epsilon(1e-5).Epsilon;
        }
        Assert.True(Eps(0.01, 1, 200) < Eps(0.01, 1, 400));
        Assert.True(Eps(0.01, 1, 200) < Eps(0.02, 1, 200));
        Assert.True(Eps(0.01, 1, 200) > Eps(0.01, 1.5, 200));
        Assert.Equal(0, new RdpAccountant().Epsilon(1e-5).Epsilon);
        Assert.Equal(double.PositiveInfinity, RdpAccountant.Rdp(0.5, 0, 2));
    }

    [Fact]
    public void Clipping_bounds_every_contribution_and_leaves_small_updates_unchanged()
    {
        using var g = new Generator(3);
        const double clip = 0.5;
        var stage = new DpClipStage(7, ClientNoise.FromRunSeed);
        foreach (var scale in new[] { 0.001, 0.05, 1.0, 20.0 })
        {
            var (task, update) = Adapter(g, scale, clip);
            var before = UpdateSpace.Norm(UpdateForm.AdapterDelta, update.Adapter, task);
            var clipped = stage.EncodeUpdate(update, task);
            var after = UpdateSpace.Norm(UpdateForm.AdapterDelta, clipped.Adapter, task);
            Assert.True(after <= clip * (1 + 1e-6), $"scale {scale}: norm {after} > C");
            if (before <= clip)
                foreach (var (name, t) in update.Adapter) Assert.True(t.allclose(clipped.Adapter[name], rtol: 0, atol: 1e-7), $"{name} changed although ‖Δ‖ ≤ C");
            else Assert.Equal(clip, after, 5);
            // The server's half clips again: a client that skipped clipping is bounded there.
            var server = stage.DecodeUpdate(update, task);
            Assert.True(UpdateSpace.Norm(UpdateForm.AdapterDelta, server.Adapter, task) <= clip * (1 + 1e-6));
        }
    }

    [Fact]
    public void Clipping_a_lora_product_scales_b_and_bounds_the_dense_product()
    {
        using var g = new Generator(4);
        var trained = FedTestKitAdapter(g, rank: 2, dIn: 6, dOut: 5);
        var task = new ClientTask(1, "c0", null, null, 2, 4) { Config = TaskConfig.Empty.With(UpdateSpace.FormKey, "lora_product").With(DpController.ClipNormKey, 0.1) };
        var update = new ClientUpdate("c0", trained, 10, new Dictionary<string, double>());
        var clipped = new DpClipStage(1, ClientNoise.FromRunSeed).EncodeUpdate(update, task);
        using var delta = UpdateSpace.Delta(UpdateForm.LoraProduct, clipped.Adapter, task);
        var norm = delta.Sum(kv => kv.Value.square().sum().item<float>());
        Assert.True(Math.Sqrt(norm) <= 0.1 * (1 + 1e-5), $"‖s·B·A‖ = {Math.Sqrt(norm)}");
        Assert.True(clipped.Adapter[LoraKeys.A("m")].equal(trained[LoraKeys.A("m")]).all().item<bool>(), "A is not touched");
    }

    [Fact]
    public void Server_noise_has_std_z_c_over_m_and_zero_multiplier_adds_none()
    {
        var settings = new DpSettings(ClipNorm: 2.0, NoiseMultiplier: 1.5, DpMode.Server, 1e-5, 0, false, 0.5, 0.2, null, GaussianNoise.KeyFromSeed(1, "t"));
        var controller = new DpController(settings, clients: 100);
        using var mean = zeros(100_000);
        controller.AddNoise([("w", mean)], round: 1, selected: 10, aggregated: 10);
        var std = mean.std().item<float>();
        var expected = 1.5 * 2.0 / 10;
        Assert.True(Math.Abs(std - expected) <= 0.02 * expected, $"std {std} vs zC/m {expected}");
        Assert.True(Math.Abs(mean.mean().item<float>()) < 4 * expected / Math.Sqrt(100_000));

        var silent = new DpController(settings with { NoiseMultiplier = 0 }, clients: 100);
        using var untouched = ones(10);
        silent.AddNoise([("w", untouched)], 1, 10, 10);
        Assert.True(untouched.eq(1).all().item<bool>());
    }

    [Fact]
    public void The_controller_accounts_each_round_and_stops_before_the_budget_is_exceeded()
    {
        var settings = new DpSettings(1.0, 1.0, DpMode.Server, 1e-5, TargetEpsilon: 5.0, false, 0.5, 0.2, null, GaussianNoise.KeyFromSeed(1, "t"));
        var controller = new DpController(settings, clients: 10);
        var rounds = 0;
        while (controller.BudgetStop(selected: 1) is null)
        {
            var metrics = controller.Account(rounds + 1, selected: 1, aggregated: 1, unclipped: null);
            rounds++;
            var reference = new RdpAccountant();
            reference.Step(0.1, 1.0, rounds);
            Assert.Equal(reference.Epsilon(1e-5).Epsilon, metrics["dp/epsilon"], 10);
        }
        Assert.True(controller.Epsilon <= 5.0);
        var next = new RdpAccountant();
        next.Step(0.1, 1.0, rounds + 1);
        Assert.True(next.Epsilon(1e-5).Epsilon > 5.0, "one more round would have exceeded the target");
        Assert.True(rounds > 1);
    }

    [Fact]
    public void Adaptive_clipping_moves_the_norm_towards_the_target_quantile()
    {
        var settings = new DpSettings(1.0, 0.5, DpMode.Server, 1e-5, 0, Adaptive: true, 0.5, 0.2, ClippedCountStddev: 1.0, GaussianNoise.KeyFromSeed(1, "t"));
        var controller = new DpController(settings, clients: 20);
        // Every update unclipped: C shrinks; none unclipped: C grows (by ≈ e^∓0.1 per round, up to the count noise).
        for (var r = 1; r <= 5; r++) controller.Account(r, 10, 10, unclipped: 10);
        Assert.True(controller.ClipNorm < 0.8, $"C = {controller.ClipNorm}");
        var shrunk = controller.ClipNorm;
        for (var r = 6; r <= 15; r++) controller.Account(r, 10, 10, unclipped: 0);
        Assert.True(controller.ClipNorm > shrunk * 1.5, $"C = {controller.ClipNorm}");
    }

    private static (ClientTask Task, ClientUpdate Update) Adapter(Generator g, double scale, double clip)
    {
        var start = new NamedTensors();
        start.Add(LoraKeys.A("m"), randn([2, 6], generator: g));
        start.Add(LoraKeys.B("m"), zeros(5, 2));
        var trained = new NamedTensors();
        foreach (var (name, t) in start) trained.Add(name, t.add(randn(t.shape, generator: g).mul(scale)));
        var task = new ClientTask(1, "c0", start, null, 2, 4)
        {
            Config = TaskConfig.Empty.With(UpdateSpace.FormKey, "adapter_delta").With(DpController.ClipNormKey, clip),
        };
        return (task, new ClientUpdate("c0", trained, 10, new Dictionary<string, double>()));
    }

    private static NamedTensors FedTestKitAdapter(Generator g, int rank, int dIn, int dOut)
    {
        var adapter = new NamedTensors();
        adapter.Add(LoraKeys.A("m"), randn([rank, dIn], generator: g));
        adapter.Add(LoraKeys.B("m"), randn([dOut, rank], generator: g));
        return adapter;
    }
}
