using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// <c>fedavgm</c> (Hsu et al., arXiv 1909.06335; Flower <c>fedavgm.py</c>): pseudo-gradient g = x − Σ p_k θ_k,
/// velocity v ← β v + g (v starts at 0, so v_1 = g_1), x ← x − η v. Defaults η = 1, β = 0.9; β = 0, η = 1 is FedAvg.
/// </summary>
internal sealed class FedAvgMStrategy : AdapterAveragingStrategy
{
    private const string VelocityPrefix = "fedavgm/velocity/";
    private NamedTensors _velocity = new();

    public override string Name => "fedavgm";

    protected override IReadOnlyCollection<string> ServerOptions =>
        [nameof(FederationSettings.ServerLearningRate), nameof(FederationSettings.ServerMomentum)];

    private double Eta => Settings.ServerLearningRate ?? 1.0;

    private double Beta => Settings.ServerMomentum ?? 0.9;

    protected override void OnGlobalReady() => _velocity = MomentLike();

    protected override void ApplyServerUpdate(IReadOnlyDictionary<string, Tensor> average)
    {
        foreach (var (name, x) in GlobalAdapter)
        {
            var v = _velocity[name];
            v.mul_(Beta).add_(x.sub(average[name]));
            x.add_(v, alpha: -Eta);
        }
    }

    protected override void ExportExtraState(NamedTensors into) => ExportMoments(VelocityPrefix, _velocity, into);

    protected override void ImportExtraState(Dictionary<string, Tensor> state) => ImportMoments(VelocityPrefix, _velocity, state);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _velocity.Dispose();
        base.Dispose(disposing);
    }
}
