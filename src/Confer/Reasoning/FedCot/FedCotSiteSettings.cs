using Confer.Configuration;
using Confer.Data;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// The keys of <c>confer fedcot client</c> beyond those every client has (server, token, ca, data, model …): how the
/// site's questions are read and which local LLM writes their reasoning paths. The questions, the actor and the
/// candidates never leave the site; the sampling recipe (K, temperature, seed …) comes from the server.
/// </summary>
public sealed class FedCotSiteSettings
{
    [ConfigKey("format", "format of data and test_data: gsm8k, pubmedqa, bioasq, mmlu, medmcqa or medqa (the published files)")]
    public string Format { get; set; } = "gsm8k";
    [ConfigKey("test_data", "held-out questions (same format) on which this site scores the global discriminator every round; empty = none")]
    public string TestData { get; set; } = "";
    [ConfigKey("actor", "this site's local LLM: a Confer causal-LM model folder, or the base URL of an OpenAI-compatible endpoint (http://host:port/v1)")]
    public string Actor { get; set; } = "models/confer-arith-actor";
    [ConfigKey("actor_model", "model name sent to an endpoint actor")] public string ActorModel { get; set; } = "";
    [ConfigKey("actor_concurrency", "questions in flight at once (endpoints serve several; a local model is best at 1)")] public int ActorConcurrency { get; set; } = 1;
    [ConfigKey("cache", "folder of this site's candidate cache (a restarted client reuses it; a corrupt file is regenerated)")]
    public string Cache { get; set; } = "candidate-cache";

    public void Validate()
    {
        if (!QaDatasets.Formats.Contains(Format, StringComparer.Ordinal))
            throw new ConfigException($"format: '{Format}' is not a known question format (valid: {string.Join(", ", QaDatasets.Formats)}).");
        if (TestData.Length > 0 && !File.Exists(TestData)) throw new ConfigException($"test_data: '{TestData}' does not exist.");
        if (ActorConcurrency < 1) throw new ConfigException("actor_concurrency: must be ≥ 1.");
    }
}
