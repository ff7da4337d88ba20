using Confer.Federation;
using Confer.Federation.Clients;
using Confer.Federation.Rounds;
using Confer.Reasoning.Discriminator;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// The "local discriminator" baseline: each client trains the same discriminator (its own rank, same recipe) on its
/// own candidates alone, for as many steps as it trains in the federation (rounds × local steps), and selects the
/// best of K on its own test questions with it.
/// </summary>
internal static class LocalDiscriminators
{
    public static IReadOnlyDictionary<string, DiscriminatorReport> Run(FedCotSettings s, ClientModel model, IReadOnlyList<DiscriminatorData> clients,
        TrainerOptions training, long padId, IRoundProgress progress, CancellationToken ct)
    {
        var reports = new Dictionary<string, DiscriminatorReport>(StringComparer.Ordinal);
        for (var i = 0; i < clients.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var c = clients[i];
            var rank = s.ClientRanks[i % s.ClientRanks.Length];
            var seed = SeedMix.Mix(s.Seed, -1, "local/" + c.Id);
            model.SetBase(null);
            using (var g = new Generator(seed)) model.AttachAdapters(null, rank, s.LoraScale * rank, 0, g);
            var options = training with { MaxSteps = s.Rounds * s.LocalSteps, Seed = (long)(seed >> 1) };
            var trainer = new DiscriminatorTrainer(options, s.PosWeightFor(c.BalancingPosWeight()), padId);
            progress.TrainingStarted($"local discriminator {c.Id}", options.MaxSteps);
            trainer.Train(DiscriminatorClient.Classifier(model), c.Train, progress.TrainingProgress, ct);
            progress.TrainingFinished();
            reports[c.Id] = DiscriminatorReport.Of(DiscriminatorClient.Classifier(model), c.Test, s.EvalBatchSize, padId);
        }
        model.SetBase(null);
        return reports;
    }
}
