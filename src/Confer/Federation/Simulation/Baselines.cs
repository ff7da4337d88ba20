using Confer.Data;
using Confer.Federation.Clients;
using Confer.Federation.Rounds;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Federation.Simulation;

/// <summary>
/// The FedIT paper's comparison points, trained in the same harness from the same base model, LoRA set-up and
/// optimiser hyper-parameters: local-only (each client alone on its own data) and centralized (all clients' data
/// pooled, which federation may not do). Compute is matched to the federation unless <c>baseline_steps</c> is set:
/// the centralized model trains exactly as many optimiser steps as all aggregated client updates of the run took
/// together; each local-only model as many as that client could train in the run (rounds × its steps per round). A
/// fixed <c>baseline_steps</c> is recorded as not compute-matched, with the matched count next to it.
/// </summary>
internal sealed class Baselines(SimulationSettings s, ClientModel model, FederatedData data, TrainerOptions training, long padId,
    IRoundProgress progress, long federatedClientSteps, CancellationToken ct)
{
    /// <summary>One trained baseline: its losses, the optimiser steps it actually took and what they were matched to.</summary>
    public sealed record Result(string? ClientId, double GlobalLoss, double? LocalLoss, int Steps, string Compute);

    /// <summary>Local-only models for every client, or for the seeded sample of <c>baseline_clients</c> of them.</summary>
    public IReadOnlyList<Result> LocalOnly() =>
        BaselineSample.Of(data.Clients, s.BaselineClients, s.Seed).Select(c =>
        {
            var perRound = new LocalTrainer(training).TotalSteps(c.Train.Count);
            var matched = checked(s.Rounds * perRound);
            var basis = $"{s.Rounds} rounds × {perRound} steps per round = {matched}";
            var steps = Train($"local-only {c.Id}", c.Id, c.Train, s.BaselineSteps > 0 ? s.BaselineSteps : matched);
            var global = Evaluator.EvaluateLoss(model.CausalLM, data.GlobalTest, s.EvalBatchSize, padId).MeanLoss;
            double? local = c.LocalTest.Count > 0 ? Evaluator.EvaluateLoss(model.CausalLM, c.LocalTest, s.EvalBatchSize, padId).MeanLoss : null;
            return new Result(c.Id, global, local, steps, Describe(basis));
        }).ToList();

    /// <summary>One model on all clients' training data pooled.</summary>
    public Result Centralized()
    {
        // A run whose rounds aggregated nothing took no client steps; one step keeps the baseline a trained model.
        var matched = (int)Math.Clamp(federatedClientSteps, 1, int.MaxValue);
        var basis = $"the federation's {federatedClientSteps} client optimiser steps";
        var steps = Train("centralized", "centralized", data.Clients.SelectMany(c => c.Train).ToList(), s.BaselineSteps > 0 ? s.BaselineSteps : matched);
        return new Result(null, Evaluator.EvaluateLoss(model.CausalLM, data.GlobalTest, s.EvalBatchSize, padId).MeanLoss, null, steps, Describe(basis));
    }

    /// <summary>The sentence the console and report print next to the row (see <see cref="Reporting.BaselineEntry.Compute"/>).</summary>
    private string Describe(string matchedBasis) => s.BaselineSteps > 0
        ? $"{Reporting.BaselineEntry.NotMatched}: baseline_steps {s.BaselineSteps} (matched would be {matchedBasis})"
        : $"compute-matched: {matchedBasis}";

    private int Train(string label, string seedKey, IReadOnlyList<TokenizedExample> examples, int steps)
    {
        var seed = SeedMix.Mix(s.Seed, -1, seedKey);
        model.SetBase(null);
        using (var g = new Generator(seed)) model.AttachAdapters(null, s.LoraRank, s.LoraAlpha, s.LoraDropout, g);
        var options = training with { MaxSteps = steps, Seed = (long)(seed >> 1) };
        progress.TrainingStarted(label, steps);
        var result = new LocalTrainer(options).Train(model.CausalLM, examples, progress.TrainingProgress, ct);
        progress.TrainingFinished();
        return result.Steps;
    }
}
