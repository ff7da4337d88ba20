using Confer.Data;
using Confer.Federation.Clients;
using Confer.Robustness.Attacks;
using Confer.Training;

namespace Confer.Federation.Rounds;

/// <summary>
/// The server's view of the model: it puts the strategy's global state into a model to evaluate it on a test set the
/// server holds (never client data) — and, when the run probes it, on harmful requests it should refuse — and to
/// export the final merged model. A simulation shares its one model with the clients; a deployed server has its own.
/// </summary>
public sealed class ServerModel(ClientModel model, IReadOnlyList<TokenizedExample> globalTest, int evalBatchSize, long padId, ComplianceProbe? probe = null)
{
    public ClientModel Model { get; } = model;

    public bool CanEvaluate => globalTest.Count > 0 || probe is not null;

    /// <summary>
    /// The global model's metrics: <see cref="MetricNames.GlobalLoss"/> and <see cref="MetricNames.GlobalPerplexity"/>
    /// on the server's test set, and <see cref="ComplianceProbe.Metric"/> when the run probes compliance.
    /// </summary>
    public IReadOnlyDictionary<string, double> Evaluate(Strategy strategy)
    {
        Model.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (globalTest.Count > 0)
        {
            var report = Evaluator.EvaluateLoss(Model.Model, globalTest, evalBatchSize, padId);
            metrics[MetricNames.GlobalLoss] = report.MeanLoss;
            metrics[MetricNames.GlobalPerplexity] = report.Perplexity;
        }
        if (probe is not null) metrics[ComplianceProbe.Metric] = probe.Rate(Model.Model);
        return metrics;
    }
}
