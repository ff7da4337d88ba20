using Confer.Data;
using Confer.Federation.Clients;
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

/// <summary>A causal LM evaluated on the server's instruction test set: <see cref="MetricNames.GlobalLoss"/> and <see cref="MetricNames.GlobalPerplexity"/>.</summary>
public sealed class CausalLMServerModel(ClientModel model, IReadOnlyList<TokenizedExample> globalTest, int evalBatchSize, long padId) : ServerModel(model)
{
    public override bool CanEvaluate => globalTest.Count > 0;

    public override IReadOnlyDictionary<string, double> Evaluate(Strategy strategy)
    {
        Model.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        var report = Evaluator.EvaluateLoss(Model.CausalLM, globalTest, evalBatchSize, padId);
        return new Dictionary<string, double> { [MetricNames.GlobalLoss] = report.MeanLoss, [MetricNames.GlobalPerplexity] = report.Perplexity };
    }
}
