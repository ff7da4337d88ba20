using Confer.Federation;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Privacy.DifferentialPrivacy;

/// <summary>
/// The server's half of DP-FedAvg, held by the strategy: the clipping norm C each task carries, the Gaussian noise on
/// the mean of the clipped updates (server mode), adaptive clipping's update of C from the noised share of unclipped
/// updates, the RDP accountant that composes every aggregated round with q = selected / clients, and the stop before a
/// round that would exceed <c>dp_target_epsilon</c>. Its state (C and the accumulated RDP) is part of the strategy's
/// checkpoint, so a resumed run accounts exactly as an uninterrupted one.
/// </summary>
public sealed class DpController
{
    /// <summary>Task config: the norm C the client clips its update to.</summary>
    public const string ClipNormKey = "dp_clip_norm";

    /// <summary>Task config: std of the noise a client adds to its clipped update (client mode).</summary>
    public const string NoiseStdKey = "dp_noise_std";

    /// <summary>Task config: "1" asks the client to report whether its update was left unclipped (adaptive clipping).</summary>
    public const string ReportUnclippedKey = "dp_report_unclipped";

    /// <summary>Client metric: 1 when the update's norm was at most C, else 0.</summary>
    public const string UnclippedMetric = "dp/unclipped";

    /// <summary>Round metric: ε spent so far at <c>dp_delta</c> (console, metrics.jsonl, report.html).</summary>
    public const string EpsilonMetric = "dp/epsilon";

    /// <summary>Round metric: the δ that <see cref="EpsilonMetric"/> is stated at (an ε means nothing without it).</summary>
    public const string DeltaMetric = "dp/delta";

    private const string ClipState = "dp/clip_norm";
    private const string RdpState = "dp/rdp";
    private readonly DpSettings _s;
    private readonly int _clients;
    private readonly RdpAccountant _accountant = new();
    private double _clip;

    /// <param name="settings">The run's DP settings (validated here).</param>
    /// <param name="clients">N, the federation's clients: the sampling rate is selected / N.</param>
    public DpController(DpSettings settings, int clients)
    {
        settings.Validate();
        if (clients < 1) throw new ArgumentException("DP accounting needs the federation's client list (its size is N in q = m/N).");
        _s = settings;
        _clients = clients;
        _clip = settings.ClipNorm;
    }

    public DpSettings Settings => _s;

    /// <summary>The clipping norm C of the next round.</summary>
    public double ClipNorm => _clip;

    /// <summary>ε spent so far at δ.</summary>
    public double Epsilon => _accountant.Epsilon(_s.Delta).Epsilon;

    /// <summary>The DP keys of a task for one of <paramref name="selected"/> clients.</summary>
    public TaskConfig Configure(TaskConfig config, int selected)
    {
        config = config.With(ClipNormKey, _clip);
        if (_s.Mode == DpMode.Client) config = config.With(NoiseStdKey, UpdateMultiplier(selected) * _clip / Math.Sqrt(selected));
        if (_s.Adaptive) config = config.With(ReportUnclippedKey, "1");
        return config;
    }

    /// <summary>
    /// Why the run must stop before a round with <paramref name="selected"/> clients (ε would exceed the target), or
    /// null. Throws <see cref="ArgumentException"/> when adaptive clipping's count noise is too small for z.
    /// </summary>
    public string? BudgetStop(int selected)
    {
        UpdateMultiplier(selected);
        if (_s.TargetEpsilon <= 0) return null;
        var next = _accountant.EpsilonAfter(SamplingRate(selected), _s.NoiseMultiplier, _s.Delta);
        return next > _s.TargetEpsilon
            ? $"dp_target_epsilon {_s.TargetEpsilon:G4} would be exceeded (ε = {Epsilon:F4} now, {next:F4} after this round at δ = {_s.Delta:G3})"
            : null;
    }

    /// <summary>
    /// Adds the server's noise N(0, (z_Δ·C/m)²) to every tensor of the mean of m = <paramref name="aggregated"/> clipped
    /// updates, in place (server mode; no-op in client mode). The noise of each tensor is drawn for (round, tensor name).
    /// </summary>
    public void AddNoise(IEnumerable<(string Name, Tensor Tensor)> aggregate, int round, int selected, int aggregated)
    {
        if (_s.Mode != DpMode.Server || _s.NoiseMultiplier == 0) return;
        var std = UpdateMultiplier(selected) * _clip / aggregated;
        using var noGrad = no_grad();
        foreach (var (name, t) in aggregate)
        {
            using var noise = GaussianNoise.Sample(_s.NoiseKey, $"round {round} update {name}", t.shape, std);
            t.add_(noise.to(t.dtype));
        }
    }

    /// <summary>
    /// Composes one aggregated round into the accountant, adapts C (adaptive clipping) and returns the round's DP metrics.
    /// </summary>
    /// <param name="round">The round (labels the count noise).</param>
    /// <param name="selected">Clients asked to train (sets q).</param>
    /// <param name="aggregated">Updates in the mean (m).</param>
    /// <param name="unclipped">How many of them were left unclipped; needed under adaptive clipping.</param>
    public IReadOnlyDictionary<string, double> Account(int round, int selected, int aggregated, int? unclipped)
    {
        var q = SamplingRate(selected);
        // Client mode: each of the m' arriving updates carries N(0, z²C²/m), so the sum holds z·√(m'/m)·C of noise.
        var arrived = _s.Mode == DpMode.Client ? Math.Sqrt((double)aggregated / selected) : 1;
        var z = _s.NoiseMultiplier * arrived;
        _accountant.Step(q, z);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [EpsilonMetric] = Epsilon, [DeltaMetric] = _s.Delta, ["dp/clip_norm"] = _clip, ["dp/noise_multiplier"] = z, ["dp/sampling_rate"] = q,
            ["dp/noise_std"] = UpdateMultiplier(selected) * arrived * _clip / aggregated,
        };
        if (_s.Adaptive)
        {
            var count = unclipped ?? throw new ArgumentException("Adaptive clipping needs the number of unclipped updates.");
            if (count < 0 || count > aggregated) throw new ArgumentException($"{count} unclipped updates of {aggregated} is impossible.");
            using var noise = GaussianNoise.Sample(_s.NoiseKey, $"round {round} unclipped count", [1], CountStddev(selected));
            var fraction = (count + noise.item<float>()) / aggregated;
            _clip *= Math.Exp(-_s.ClipLearningRate * (fraction - _s.TargetQuantile));
            metrics["dp/unclipped_fraction"] = fraction;
        }
        return metrics;
    }

    public void Export(NamedTensors into)
    {
        into.Add(ClipState, tensor(new[] { _clip }, ScalarType.Float64));
        into.Add(RdpState, tensor(_accountant.Accumulated, ScalarType.Float64));
    }

    /// <summary>Restores what <see cref="Export"/> wrote, removing its keys from <paramref name="state"/>.</summary>
    public void Import(Dictionary<string, Tensor> state)
    {
        if (!state.Remove(ClipState, out var clip) || !state.Remove(RdpState, out var rdp))
            throw new ArgumentException($"State lacks '{ClipState}' or '{RdpState}': it was written without differential privacy.");
        _clip = clip.to(ScalarType.Float64).item<double>();
        _accountant.Restore(rdp.to(ScalarType.Float64).data<double>().ToArray());
    }

    private double SamplingRate(int selected) => Math.Min(1.0, (double)selected / _clients);

    private double CountStddev(int m) => _s.ClippedCountStddev ?? m / 20.0;

    /// <summary>z for the updates: z itself, or under adaptive clipping z_Δ = (z⁻² − (2σ_b)⁻²)^(−½), so that update and count noise together are worth z.</summary>
    private double UpdateMultiplier(int m)
    {
        if (!_s.Adaptive || _s.NoiseMultiplier == 0) return _s.NoiseMultiplier;
        var sigmaB = CountStddev(m);
        if (_s.NoiseMultiplier >= 2 * sigmaB)
            throw new ArgumentException(
                $"adaptive clipping: the count noise σ_b = {sigmaB:G3} (dp_clipped_count_stddev, default m/20 for m = {m}) must exceed dp_noise_multiplier / 2 = {_s.NoiseMultiplier / 2:G3}; set dp_clipped_count_stddev above it.");
        return Math.Pow(Math.Pow(_s.NoiseMultiplier, -2) - Math.Pow(2 * sigmaB, -2), -0.5);
    }
}
