using Confer.Configuration;
using Confer.Federation.Clients;
using Confer.Federation.Simulation;
using Confer.Federation.Strategies;
using Confer.Models;
using Confer.Peft;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Federation;

/// <summary>
/// The server side of a run that simulation and deployment share: the strategy built from the run's settings and
/// started from the same seeded adapter, and the per-round checkpoint (strategy state + the global adapter as a PEFT
/// folder). Sharing them is what makes a deployed run reproduce <c>confer simulate</c> with the same seed.
/// </summary>
internal static class StrategySetup
{
    /// <summary>The initialised strategy for <paramref name="clientIds"/> (in index order: client ranks are assigned by index).</summary>
    /// <param name="s">The run's settings.</param>
    /// <param name="model">The model whose shapes the initial adapter takes.</param>
    /// <param name="clientIds">The federation's clients in index order.</param>
    /// <param name="dpNoiseKey">Key of the server's DP noise; null = derived from the seed (a simulation, reproducible).</param>
    public static Strategy Create(SimulationSettings s, ClientModel model, IReadOnlyList<string> clientIds, byte[]? dpNoiseKey = null)
    {
        var strategy = StrategyRegistry.Create(s.Strategy);
        FederationSettings settings;
        try
        {
            settings = new FederationSettings
            {
                ClientIds = clientIds, LoraRank = s.LoraRank, LoraAlpha = s.LoraAlpha, ClientRanks = s.ClientRanks,
                ProximalMu = s.ProximalMu, ServerLearningRate = s.ServerLearningRate, ServerMomentum = s.ServerMomentum,
                ServerBeta1 = s.ServerBeta1, ServerBeta2 = s.ServerBeta2, ServerTau = s.ServerTau, Seed = s.Seed,
                MaxClientWeight = s.MaxClientWeight,
                Dp = s.ToDpSettings(dpNoiseKey ?? Privacy.DifferentialPrivacy.GaussianNoise.KeyFromSeed(s.Seed, "server")),
                Robust = s.ToRobustAggregator(), SecureAggregation = s.SecureAggregation,
            };
        }
        catch (ArgumentException e)
        {
            strategy.Dispose();
            throw new ConfigException(e.Message);
        }
        // The FedAvg family starts every client from one shared adapter; rank-heterogeneous strategies want the largest rank.
        var rank = s.ClientRanks.Length > 0 ? s.ClientRanks.Max() : s.LoraRank;
        model.SetBase(null);
        using (var g = new Generator(SeedMix.Mix(s.Seed, 0)))
            model.AttachAdapters(null, rank, s.LoraAlpha * rank / s.LoraRank, 0, g);
        using var initial = model.CaptureAdapter();
        try
        {
            strategy.Initialize(initial, settings);
        }
        catch (ArgumentException e)
        {
            strategy.Dispose();
            throw new ConfigException($"strategy '{s.Strategy}': {e.Message}");
        }
        return strategy;
    }

    /// <summary>
    /// Writes <c>state.safetensors</c> (everything needed to resume) and <c>adapter/</c> (the global adapter in the
    /// run's PEFT format) into <paramref name="folder"/>.
    /// </summary>
    public static void WriteCheckpoint(string folder, Strategy strategy, SimulationSettings s, ClientModel model)
    {
        Directory.CreateDirectory(folder);
        using var state = strategy.ExportState();
        SafetensorsFile.Save(Path.Combine(folder, "state.safetensors"), state);
        SaveAdapter(Path.Combine(folder, "adapter"), strategy, s, model);
    }

    /// <summary>
    /// Writes the global adapter (<c>adapter/</c>) and, for LoRA, the merged model (HF safetensors + tokenizer,
    /// <c>model/</c>). A soft prompt or bottleneck adapters cannot be merged into the base weights, so those runs
    /// export the adapter only; <c>confer generate --adapter</c> applies it.
    /// </summary>
    public static void ExportFinal(string folder, Strategy strategy, SimulationSettings s, ClientModel model)
    {
        SaveAdapter(Path.Combine(folder, "adapter"), strategy, s, model);
        if (model.Tuner.Method != PeftMethod.Lora) return;
        model.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        LoraModel.Merge(model.Model);
        model.SavePretrained(Path.Combine(folder, "model"));
        Tokenizers.TokenizerFiles.CopyTo(s.Model, Path.Combine(folder, "model"));
        LoraModel.Detach(model.Model);
    }

    private static void SaveAdapter(string folder, Strategy strategy, SimulationSettings s, ClientModel model)
    {
        if (strategy.GlobalAdapter.Count == 0) return;
        model.Tuner.Save(folder, strategy.GlobalAdapter, model.FolderInfo(s.Model, strategy.GlobalLoraScale, s.LoraDropout, s.LoraRank));
    }
}
