using Confer.Data;
using Confer.Federation.Clients;
using Confer.Federation.Rounds;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Federation.Simulation;

/// <summary>
/// The FedIT paper's comparison points, trained in the same harness from the same base model and LoRA set-up:
/// local-only (each client alone on its own data) and centralized (all clients' data pooled, which federation may not do).
/// Compute is matched to the federation unless <c>baseline_steps</c> is set: each local-only model trains as many steps
/// as one client could in the run (rounds × local steps), the centralized model as many as all clients together did.
/// </summary>
internal sealed class Baselines(SimulationSettings s, ClientModel model, FederatedData data, TrainerOptions training, long padId,
    IRoundProgress progress, int federatedClientSteps, CancellationToken ct)
{
    public sealed record LocalResult(string ClientId, double GlobalLoss, double? LocalLoss);

    private int LocalSteps => s.BaselineSteps > 0 ? s.BaselineSteps : s.Rounds * StepsPerRound;

    private int CentralizedSteps => s.BaselineSteps > 0 ? s.BaselineSteps : Math.Max(StepsPerRound, federatedClientSteps);

    private int StepsPerRound => s.LocalSteps > 0 ? s.LocalSteps : new LocalTrainer(training).TotalSteps(data.Clients.Max(c => c.Train.Count));

    public IReadOnlyList<LocalResult> LocalOnly() =>
        data.Clients.Select(c =>
        {
            Train($"local-only {c.Id}", c.Id, c.Train, LocalSteps);
            var global = Evaluator.EvaluateLoss(model.CausalLM, data.GlobalTest, s.EvalBatchSize, padId).MeanLoss;
            double? local = c.LocalTest.Count > 0 ? Evaluator.EvaluateLoss(model.CausalLM, c.LocalTest, s.EvalBatchSize, padId).MeanLoss : null;
            return new LocalResult(c.Id, global, local);
        }).ToList();

    public double Centralized()
    {
        Train("centralized", "centralized", data.Clients.SelectMany(c => c.Train).ToList(), CentralizedSteps);
        return Evaluator.EvaluateLoss(model.CausalLM, data.GlobalTest, s.EvalBatchSize, padId).MeanLoss;
    }

    private void Train(string label, string seedKey, IReadOnlyList<TokenizedExample> examples, int steps)
    {
        var seed = SeedMix.Mix(s.Seed, -1, seedKey);
        model.SetBase(null);
        using (var g = new Generator(seed)) model.AttachAdapters(null, s.LoraRank, s.LoraAlpha, s.LoraDropout, g);
        var options = training with { MaxSteps = steps, Seed = (long)(seed >> 1) };
        progress.TrainingStarted(label, steps);
        new LocalTrainer(options).Train(model.CausalLM, examples, progress.TrainingProgress, ct);
        progress.TrainingFinished();
    }
}
