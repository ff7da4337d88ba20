using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Reasoning.Discriminator;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// <c>confer fedcot server</c>'s run: FedCoT's federated discriminator (stages 2–3) over the deployment — the encoder
/// in <c>encoder</c>, FLoRA stacking of the sites' heterogeneous-rank LoRA pairs, the head averaged — on the same round
/// engine and gRPC gate as instruction tuning. The server holds no candidates, so the global discriminator is scored
/// by the sites on their own test questions (<c>clients/accuracy</c> each round).
/// </summary>
public static class DeployedDiscriminator
{
    /// <summary>Keys of a whole FedCoT experiment that a deployed server has no use for: each site picks its own actor and cache, and no baselines run.</summary>
    private static readonly (string Key, Func<FedCotSettings, object?> Value)[] SiteOrExperimentKeys =
    [
        ("actor", s => s.Actor), ("actor_model", s => s.ActorModel), ("actor_concurrency", s => s.ActorConcurrency), ("cache", s => s.Cache),
        ("suite_seed", s => s.SuiteSeed), ("data_root", s => s.DataRoot), ("output", s => s.Output), ("baselines", s => string.Join(",", s.Baselines)), ("sft_rounds", s => s.SftRounds),
        ("sft_local_steps", s => s.SftLocalSteps), ("sft_lr", s => s.SftLearningRate), ("sft_lora_r", s => s.SftLoraRank),
    ];

    /// <summary>The deployed run these settings describe; refuses keys a deployed server would otherwise ignore.</summary>
    public static DeployedRun Run(FedCotSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        s.Validate();
        var defaults = new FedCotSettings();
        foreach (var (key, value) in SiteOrExperimentKeys)
            if (!Equals(value(s), value(defaults)))
                throw new ConfigException($"{key}: a deployed FedCoT server does not use it (each site sets its own actor, cache and questions with `confer fedcot client`, and no baselines run); remove it from the server's config.");
        if (!Directory.Exists(s.EncoderFolder)) throw new ConfigException($"encoder: folder '{s.EncoderFolder}' does not exist.");
        return new DeployedRun(DiscriminatorSite.Kind, FederatedDiscriminator.DriverSettings(s, deployed: true), ConfigBinder.ToYaml(s), () =>
        {
            var (model, tokenizer) = DiscriminatorModel.Load(s.EncoderFolder, s.LoraTargets, s.Seed, Runtime.DeviceSelector.Parse(s.Device));
            return new DiscriminatorServerModel(model, [], s.EvalBatchSize, tokenizer.PadId ?? 0);
        });
    }
}
