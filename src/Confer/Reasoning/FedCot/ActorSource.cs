using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Reasoning.Actors;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// The actor a FedCoT run samples from, and how to open a Confer model folder as an actor (the Fed-SFT baseline
/// evaluates the fine-tuned actor that way).
/// </summary>
/// <param name="Actor">The local LLM that writes the candidates.</param>
/// <param name="CacheKey">What identifies its completions in the candidate cache: its name and, for a model folder, a fingerprint of the weights.</param>
/// <param name="ModelFolder">The Confer model folder behind <paramref name="Actor"/>; null for an endpoint (Fed-SFT then cannot run).</param>
/// <param name="OpenModel">Opens a Confer causal-LM folder as an actor; null when no local model can be run.</param>
public sealed record ActorSource(IReasoningActor Actor, string CacheKey, string? ModelFolder, Func<string, IReasoningActor>? OpenModel) : IDisposable
{
    /// <summary>
    /// The actor the settings name: an OpenAI-compatible endpoint for an http(s) URL, otherwise a Confer causal-LM
    /// folder loaded in this process. A model folder's cache key carries the SHA-256 of its weights, so retraining
    /// the actor under the same path never reuses its old candidates.
    /// </summary>
    /// <param name="s">The experiment's settings (actor, actor_model, actor_concurrency, device).</param>
    public static ActorSource Open(FedCotSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var device = Runtime.DeviceSelector.Parse(s.Device);
        IReasoningActor Load(string folder) => ConferModelActor.Load(folder, device: device);
        if (s.ActorIsEndpoint)
        {
            if (s.ActorModel.Length == 0) throw new ConfigException("actor_model: an endpoint actor needs the model name to send (--set actor_model=NAME).");
            var endpoint = new OpenAiEndpointActor(new OpenAiEndpointOptions { BaseUrl = new Uri(s.Actor), Model = s.ActorModel, MaxConcurrency = s.ActorConcurrency });
            return new ActorSource(endpoint, endpoint.Name, null, Load);
        }
        if (!File.Exists(Path.Combine(s.Actor, "config.json")))
            throw new ConfigException($"actor: '{s.Actor}' is neither an http(s) endpoint URL nor a model folder with config.json.");
        var actor = ConferModelActor.Load(s.Actor, device: device);
        return new ActorSource(actor, $"{actor.Name}#{ModelFingerprint.Of(s.Actor)[..16]}", Path.GetFullPath(s.Actor), Load);
    }

    public void Dispose() => (Actor as IDisposable)?.Dispose();
}
