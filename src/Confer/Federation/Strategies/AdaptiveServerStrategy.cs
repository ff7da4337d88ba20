using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// FedAdagrad / FedAdam / FedYogi (Reddi et al., "Adaptive Federated Optimization", arXiv 2003.00295, Alg. 2) in the
/// paper's convention: Δ = Σ p_k θ_k − x; m ← β1 m + (1−β1) Δ (m_{−1} = 0); v by the subclass rule (v_{−1} = τ²);
/// x ← x + η m / (√v + τ), elementwise, with no bias correction (Flower instead starts v at 0 and bias-corrects η).
/// Moments live per adapter tensor, on A and B separately.
/// </summary>
internal abstract class AdaptiveServerStrategy : AdapterAveragingStrategy
{
    public const double DefaultTau = 1e-3;
    private NamedTensors _m = new();
    private NamedTensors _v = new();

    protected override IReadOnlyCollection<string> ServerOptions =>
    [
        nameof(FederationSettings.ServerLearningRate), nameof(FederationSettings.ServerBeta1),
        nameof(FederationSettings.ServerBeta2), nameof(FederationSettings.ServerTau),
    ];

    protected abstract double DefaultEta { get; }

    protected virtual double DefaultBeta1 => 0.9;

    protected double Beta2 => Settings.ServerBeta2 ?? 0.99;

    private double Tau => Settings.ServerTau ?? DefaultTau;

    protected override void OnGlobalReady()
    {
        _m = MomentLike();
        _v = MomentLike(Tau * Tau);
    }

    protected override void ApplyServerUpdate(IReadOnlyDictionary<string, Tensor> average)
    {
        var eta = Settings.ServerLearningRate ?? DefaultEta;
        var beta1 = Settings.ServerBeta1 ?? DefaultBeta1;
        foreach (var (name, x) in GlobalAdapter)
        {
            var delta = average[name].sub(x);
            var m = _m[name];
            var v = _v[name];
            m.mul_(beta1).add_(delta, alpha: 1 - beta1);
            UpdateSecondMoment(v, delta.square());
            x.addcdiv_(m, v.sqrt().add_(Tau), value: eta);
        }
    }

    /// <summary>v ← rule(v, Δ²), in place.</summary>
    protected abstract void UpdateSecondMoment(Tensor v, Tensor deltaSquared);

    protected override void ExportExtraState(NamedTensors into)
    {
        ExportMoments($"{Name}/m/", _m, into);
        ExportMoments($"{Name}/v/", _v, into);
    }

    protected override void ImportExtraState(Dictionary<string, Tensor> state)
    {
        ImportMoments($"{Name}/m/", _m, state);
        ImportMoments($"{Name}/v/", _v, state);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _m.Dispose();
            _v.Dispose();
        }
        base.Dispose(disposing);
    }
}
