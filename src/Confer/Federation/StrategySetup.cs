using Confer.Configuration;
using Confer.Federation.Clients;
using Confer.Federation.Simulation;
using Confer.Federation.Strategies;
using Confer.Models;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Federation;

/// <summary>
/// The server side of a run that simulation and deployment share: the strategy built from the run's settings and
/// started from the same seeded adapter, and the per-round checkpoint (strategy state + the global adapter as a PEFT
/// folder). Sharing them is what makes a deployed run reproduce <c>confer simulate</c> with the same seed.
/// </summary>
internal static class StrategySetup
{
    /// <summary>The initialised strategy for <paramref name="clientIds"/> (in index order: client ranks are assigned by index).</summary>
    public static Strategy Create(SimulationSettings s, ClientModel model, IReadOnlyList<string> clientIds)
    {
        var strategy = StrategyRegistry.Create(s.Strategy);
        var settings = new FederationSettings
        {
            ClientIds = clientIds, LoraRank = s.LoraRank, LoraAlpha = s.LoraAlpha, ClientRanks = s.ClientRanks,
            ProximalMu = s.ProximalMu, ServerLearningRate = s.ServerLearningRate, ServerMomentum = s.ServerMomentum,
            ServerBeta1 = s.ServerBeta1, ServerBeta2 = s.ServerBeta2, ServerTau = s.ServerTau, Seed = s.Seed,
            MaxClientWeight = s.MaxClientWeight,
        };
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

    /// <summary>Writes <c>state.safetensors</c> (everything needed to resume) and <c>adapter/</c> (PEFT) into <paramref name="folder"/>.</summary>
    public static void WriteCheckpoint(string folder, Strategy strategy, SimulationSettings s)
    {
        Directory.CreateDirectory(folder);
        using var state = strategy.ExportState();
        Safetensors.Save(Path.Combine(folder, "state.safetensors"), state);
        if (strategy.GlobalAdapter.Count > 0) PeftAdapter.Save(Path.Combine(folder, "adapter"), strategy.GlobalAdapter, AdapterConfig(strategy, s));
    }

    /// <summary>Writes the global adapter (PEFT, <c>adapter/</c>) and the merged model (HF safetensors + tokenizer, <c>model/</c>).</summary>
    public static void ExportFinal(string folder, Strategy strategy, SimulationSettings s, ClientModel model)
    {
        if (strategy.GlobalAdapter.Count > 0) PeftAdapter.Save(Path.Combine(folder, "adapter"), strategy.GlobalAdapter, AdapterConfig(strategy, s));
        model.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        LoraModel.Merge(model.Model);
        model.SavePretrained(Path.Combine(folder, "model"));
        Tokenizers.TokenizerFiles.CopyTo(s.Model, Path.Combine(folder, "model"));
        LoraModel.Detach(model.Model);
    }

    /// <summary>The PEFT adapter_config.json of the global adapter (most common rank, rank_pattern for the others).</summary>
    public static LoraConfig AdapterConfig(Strategy strategy, SimulationSettings s)
    {
        var config = new LoraConfig { TargetModules = [.. s.LoraTargets], Dropout = s.LoraDropout, BaseModelNameOrPath = s.Model };
        var ranks = LoraKeys.ModulePaths(strategy.GlobalAdapter.Names)
            .Select(p => (Path: p, Rank: (int)strategy.GlobalAdapter[LoraKeys.A(p)].shape[0])).ToList();
        config.Rank = ranks.Count > 0 ? ranks.GroupBy(r => r.Rank).MaxBy(g => g.Count())!.Key : s.LoraRank;
        config.Alpha = strategy.GlobalLoraScale * config.Rank;
        foreach (var (path, rank) in ranks.Where(r => r.Rank != config.Rank))
        {
            config.RankPattern[path] = rank;
            config.AlphaPattern[path] = strategy.GlobalLoraScale * rank;
        }
        return config;
    }
}
