using Confer.Data;
using Confer.Federation.Clients;
using Confer.Robustness.Attacks;
using Confer.Training;

namespace Confer.Federation.Rounds;

/// <summary>
/// The server's view of the model: it puts the strategy's global state into a model to evaluate it on data the server
/// holds (never client data) and to export the final merged model. A simulation shares its one model with the
/// clients; a deployed server has its own. What "evaluate" means depends on the model: a causal LM's loss on a test
/// set (<see cref="CausalLMServerModel"/>), a discriminator's selection accuracy (FedCoT), ….
/// </summary>
public abstract class ServerModel(ClientModel model)
{
    public ClientModel Model { get; } = model;

    /// <summary>False when the server holds nothing to evaluate on; the driver then records no global metrics.</summary>
    public abstract bool CanEvaluate { get; }

    /// <summary>The global model's metrics by name; they go into the round's record as they are.</summary>
    public abstract IReadOnlyDictionary<string, double> Evaluate(Strategy strategy);
}

/// <summary>
/// A causal LM evaluated on the server's instruction test set (<see cref="MetricNames.GlobalLoss"/>,
/// <see cref="MetricNames.GlobalPerplexity"/>) and, when the run probes it, on harmful requests it should refuse
/// (<see cref="ComplianceProbe.Metric"/>).
/// </summary>
public sealed class CausalLMServerModel(ClientModel model, IReadOnlyList<TokenizedExample> globalTest, int evalBatchSize, long padId, ComplianceProbe? probe = null)
    : ServerModel(model)
{
    public override bool CanEvaluate => globalTest.Count > 0 || probe is not null;

    public override IReadOnlyDictionary<string, double> Evaluate(Strategy strategy)
    {
        Model.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (globalTest.Count > 0)
        {
            var report = Evaluator.EvaluateLoss(Model.CausalLM, globalTest, evalBatchSize, padId);
            metrics[MetricNames.GlobalLoss] = report.MeanLoss;
            metrics[MetricNames.GlobalPerplexity] = report.Perplexity;
        }
        if (probe is not null) metrics[ComplianceProbe.Metric] = probe.Rate(Model.CausalLM);
        return metrics;
    }
}
