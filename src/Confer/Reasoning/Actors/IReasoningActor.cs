namespace Confer.Reasoning.Actors;

/// <summary>
/// The local LLM that writes reasoning paths (FedCoT's "actor"): a prompt in, N sampled completions out. A Confer
/// model in this process and any OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama, <c>confer serve</c>) both
/// implement it, so a site can use whatever serves its model.
/// </summary>
public interface IReasoningActor
{
    /// <summary>What the actor is, for logs and candidate-cache keys (e.g. the model folder or endpoint and model name).</summary>
    string Name { get; }

    /// <summary>
    /// <see cref="ActorSampling.N"/> completions of <paramref name="prompt"/>, in a reproducible order for a given
    /// <see cref="ActorSampling.Seed"/> where the backend honours seeds.
    /// </summary>
    Task<IReadOnlyList<string>> SampleAsync(string prompt, ActorSampling sampling, CancellationToken ct);
}

/// <summary>How an actor samples: the OpenAI request fields <c>n</c>, <c>temperature</c>, <c>top_p</c>, <c>max_tokens</c>, <c>stop</c>, <c>seed</c>.</summary>
public sealed record ActorSampling(int N, double Temperature, double TopP, int MaxTokens, IReadOnlyList<string> Stop, long Seed);
