using Confer.Training.Generation;

namespace Confer.Reasoning.Actors;

/// <summary>An actor's <see cref="ActorSampling"/> as Confer's decoding settings, checked as an OpenAI server checks a request.</summary>
internal static class SamplingOptions
{
    public static GenerationOptions From(ActorSampling sampling)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        if (sampling.N < 1) throw new ArgumentOutOfRangeException(nameof(sampling), sampling.N, "N must be ≥ 1.");
        if (sampling.MaxTokens < 1) throw new ArgumentOutOfRangeException(nameof(sampling), sampling.MaxTokens, "MaxTokens must be ≥ 1.");
        ArgumentNullException.ThrowIfNull(sampling.Stop);
        if (sampling.Stop.Any(string.IsNullOrEmpty)) throw new ArgumentException("Stop strings must not be empty.", nameof(sampling));
        var options = new GenerationOptions
        {
            MaxNewTokens = sampling.MaxTokens, Temperature = sampling.Temperature, TopP = sampling.TopP, StopStrings = sampling.Stop, Seed = sampling.Seed,
        };
        options.Validate();
        return options;
    }
}
