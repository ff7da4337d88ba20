using System.CommandLine;
using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Reasoning.FedCot;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer fedcot server</c> and <c>confer fedcot client</c>: FedCoT's federated discriminator over a real deployment.
/// They are <c>confer server</c> and <c>confer client</c> (TLS, tokens, deadlines, restart safety, the one round loop)
/// with a FedCoT run: the server's YAML holds the experiment keys of <c>confer fedcot</c> plus the deployment keys;
/// each site brings its own questions and actor, and its candidates never leave it.
/// </summary>
internal static class FedCotDeploymentCommands
{
    public static Command Server() => ServerCommand.Create("server",
        "Run a FedCoT discriminator federation: sites connect with `confer fedcot client`, train the discriminator on their own candidates; LoRA is FLoRA-stacked, the head averaged.",
        "run YAML: experiment keys of `confer fedcot` (encoder, k, sampling, ranks, rounds …) plus deployment keys (see --list-keys)",
        "Experiment keys are those of [bold]confer fedcot --list-keys[/] (a site's actor and cache are set on the client).",
        (config, overrides) =>
        {
            var (run, server) = ConfigBinder.Bind<FedCotSettings, ServerSettings>(config, overrides);
            return (DeployedDiscriminator.Run(run), server);
        });

    public static Command Client() => ClientCommand.Create("client",
        "Join a FedCoT server as one site: the local LLM writes K reasoning paths per question (cached), the discriminator trains on them each round; only its LoRA and head are sent.",
        "this site's training questions in --format (e.g. GSM8K JSONL); they never leave this machine",
        "the discriminator's encoder folder (must match the server's encoder; default models/confer-arith-verifier, the arithmetic suite's)",
        "client YAML (keys: server, token, token_file, ca, data, test_data, format, model, actor, actor_model, cache, device, threads, lora_r, state …)",
        [
            ("test_data", new Option<string?>("--test-data") { Description = "held-out questions (same format) on which this site scores the global discriminator each round" }),
            ("format", new Option<string?>("--format") { Description = "question format: gsm8k (default), pubmedqa, bioasq, mmlu, medmcqa, medqa" }),
            ("actor", new Option<string?>("--actor") { Description = "this site's local LLM: a Confer model folder or an OpenAI-compatible base URL (http://host:port/v1)" }),
            ("cache", new Option<string?>("--cache") { Description = "folder of this site's candidate cache" }),
        ],
        (config, overrides) =>
        {
            // A site's model is the discriminator's encoder, not `confer client`'s causal LM.
            var (settings, site) = ConfigBinder.Bind<ClientSettings, FedCotSiteSettings>(config, overrides, [$"model={new FedCotSettings().EncoderFolder}"]);
            site.Validate(); // before connecting: a mistyped format or test file fails at once, not after the join
            return (settings, new DiscriminatorSite(site));
        });
}
