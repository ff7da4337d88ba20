using Confer.Data;
using Confer.Federation.Clients;
using Confer.Training;

namespace Confer.Federation.Rounds;

/// <summary>
/// The server's view of the model: it puts the strategy's global state into a model to evaluate it on a test set the
/// server holds (never client data) and to export the final merged model. A simulation shares its one model with the
/// clients; a deployed server has its own.
/// </summary>
public sealed class ServerModel(ClientModel model, IReadOnlyList<TokenizedExample> globalTest, int evalBatchSize, long padId)
{
    public ClientModel Model { get; } = model;

    public bool CanEvaluate => globalTest.Count > 0;

    /// <summary>The global model's metrics on the server's test set: <see cref="MetricNames.GlobalLoss"/> and <see cref="MetricNames.GlobalPerplexity"/>.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(Strategy strategy)
    {
        Model.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        var report = Evaluator.EvaluateLoss(Model.Model, globalTest, evalBatchSize, padId);
        return new Dictionary<string, double> { [MetricNames.GlobalLoss] = report.MeanLoss, [MetricNames.GlobalPerplexity] = report.Perplexity };
    }
}
