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
public sealed record ActorSource(IReasoningActor Actor, string CacheKey, string? ModelFolder, Func<string, IReasoningActor>? OpenModel);
