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

    public LossReport Evaluate(Strategy strategy)
    {
        Model.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        return Evaluator.EvaluateLoss(Model.Model, globalTest, evalBatchSize, padId);
    }
}
