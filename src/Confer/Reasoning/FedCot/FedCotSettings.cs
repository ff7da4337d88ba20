using Confer.Configuration;
using Confer.Reasoning.Candidates;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// Every key of a FedCoT experiment (<c>confer fedcot --config x.yaml --set key=value</c>). Defaults are the built-in
/// job: the arithmetic suite, the shipped actor and encoder, five clients with LoRA ranks 4, 32, 32, 16, 4, small
/// enough for 2 cores. [D] marks (algorithms.md §3) are noted where a default is our choice.
/// </summary>
public sealed class FedCotSettings
{
    [ConfigKey("name", "run name; the run folder is <output>/<name>")] public string Name { get; set; } = "fedcot";
    [ConfigKey("output", "folder that holds run folders")] public string Output { get; set; } = "runs";
    [ConfigKey("seed", "seed for sampling, LoRA init, training and data order (the questions follow suite_seed)")] public int Seed { get; set; } = 42;
    [ConfigKey("device", "cpu or cuda[:N] for the encoder and a local actor")] public string Device { get; set; } = "cpu";

    [ConfigKey("suite", "arithmetic (built in, five generated families) | medical (PubMedQA, BioASQ yes/no, MMLU-Med, MedMCQA, MedQA from data_root)")]
    public string Suite { get; set; } = "arithmetic";
    [ConfigKey("suite_seed", "seed of the suite's questions (arithmetic: which problems; medical: the split of sets without one), apart from seed so that runs over several seeds keep one test set; the shipped actor and verifier never saw arithmetic seed 42's questions, other seeds' may overlap their training")]
    public int SuiteSeed { get; set; } = Suites.ArithmeticSuite.DefaultSeed;
    [ConfigKey("data_root", "folder with the medical data sets in their published layout (the project's ../shared/data)")] public string DataRoot { get; set; } = "../shared/data";
    [ConfigKey("train_questions", "training questions per client (medical: at most this many)")] public int TrainQuestions { get; set; } = 120;
    [ConfigKey("test_questions", "held-out test questions per client (medical: at most this many)")] public int TestQuestions { get; set; } = 80;

    [ConfigKey("actor", "the local LLM: a Confer causal-LM model folder, or the base URL of an OpenAI-compatible endpoint (http://host:port/v1)")]
    public string Actor { get; set; } = "models/confer-arith-actor";
    [ConfigKey("actor_model", "model name sent to an endpoint actor")] public string ActorModel { get; set; } = "";
    [ConfigKey("actor_concurrency", "questions in flight at once (endpoints serve several; a local model is best at 1)")] public int ActorConcurrency { get; set; } = 1;
    [ConfigKey("k", "candidates (reasoning paths) per question [D: 5]")] public int K { get; set; } = 5;
    [ConfigKey("temperature", "sampling temperature of the candidates [D: 0.7]")] public double Temperature { get; set; } = 0.7;
    [ConfigKey("top_p", "nucleus sampling mass of the candidates [D: 1.0]")] public double TopP { get; set; } = 1.0;
    [ConfigKey("max_tokens", "most tokens per reasoning path [D: 512]")] public int MaxTokens { get; set; } = 96;
    [ConfigKey("cache", "folder of the candidate cache (shared by runs; a corrupt file is regenerated)")] public string Cache { get; set; } = "runs/candidate-cache";

    [ConfigKey("encoder", "the discriminator's pre-trained BERT-family encoder folder (HF layout with vocab.txt); unset = the suite's shipped one: models/confer-arith-verifier (arithmetic), models/confer-bert-arith (medical)")]
    public string Encoder { get; set; } = "";
    [ConfigKey("max_length", "most tokens of one discriminator input [CLS] q [SEP] r [SEP] a [SEP] [D: 512]")] public int MaxLength { get; set; } = 160;
    [ConfigKey("lora_targets", "encoder modules that get LoRA, by name suffix as in PEFT (layer.3.attention.self.query: that layer only) [D: query, value]")] public string[] LoraTargets { get; set; } = ["query", "value"];
    [ConfigKey("client_ranks", "LoRA rank of each client, by client index (the paper's heterogeneous 4, 32, 32, 16, 4)")] public int[] ClientRanks { get; set; } = [4, 32, 32, 16, 4];
    [ConfigKey("lora_scale", "LoRA scale α/r shared by every client [D: α = 2r]")] public double LoraScale { get; set; } = 2;
    [ConfigKey("pos_weight", "BCE positive weight: 1 = plain BCE, auto = N_neg/N_pos of each client's own candidates [D]")] public string PosWeight { get; set; } = "1";

    [ConfigKey("rounds", "communication rounds of the federated discriminator")] public int Rounds { get; set; } = 5;
    [ConfigKey("local_steps", "local optimiser steps per round")] public int LocalSteps { get; set; } = 20;
    [ConfigKey("lr", "discriminator learning rate (LoRA and head)")] public double LearningRate { get; set; } = 1e-3;
    [ConfigKey("micro_batch_size", "candidates per forward pass")] public int MicroBatchSize { get; set; } = 16;
    [ConfigKey("eval_batch_size", "candidates per scoring pass")] public int EvalBatchSize { get; set; } = 64;
    [ConfigKey("uplink_codec", "how discriminator updates are encoded on the way to the server")] public string UplinkCodec { get; set; } = "identity";
    [ConfigKey("downlink_codec", "how discriminator tasks are encoded on the way to the clients")] public string DownlinkCodec { get; set; } = "identity";

    [ConfigKey("baselines", "which baselines to run: cot, self-consistency, local, fed-sft, pass@k")]
    public string[] Baselines { get; set; } = ["cot", "self-consistency", "local", "fed-sft", "pass@k"];
    [ConfigKey("sft_rounds", "Fed-SFT (FedIT of the actor): communication rounds (unset = rounds)")] public int? SftRounds { get; set; }
    [ConfigKey("sft_local_steps", "Fed-SFT: local optimiser steps per round")] public int SftLocalSteps { get; set; } = 12;
    [ConfigKey("sft_lr", "Fed-SFT: client learning rate")] public double SftLearningRate { get; set; } = 2e-3;
    [ConfigKey("sft_lora_r", "Fed-SFT: LoRA rank of the actor's adapters")] public int SftLoraRank { get; set; } = 8;

    public static readonly IReadOnlyList<string> KnownBaselines = ["cot", "self-consistency", "local", "fed-sft", "pass@k"];

    /// <summary>The encoder folder the discriminator loads: <see cref="Encoder"/>, or the suite's shipped encoder when unset.</summary>
    public string EncoderFolder => Encoder.Length > 0 ? Encoder : DefaultEncoder(Suite);

    /// <summary>
    /// The shipped encoder for <paramref name="suite"/>. The arithmetic suite's is a verifier pre-trained to check worked
    /// solutions (a masked-LM encoder of that size learns nothing that selects, docs/fedcot.md); its vocabulary splits
    /// numbers into digits and knows no medical words, so the medical suite keeps the WordPiece masked-LM encoder.
    /// </summary>
    public static string DefaultEncoder(string suite) => suite == Suites.MedicalSuite.Name ? "models/confer-bert-arith" : "models/confer-arith-verifier";

    /// <summary>The candidate sampling these settings ask for.</summary>
    public CandidateSampling Sampling => new(K, Temperature, TopP, MaxTokens, Seed);

    /// <summary>The actor is an OpenAI-compatible endpoint rather than a model folder.</summary>
    public bool ActorIsEndpoint => Actor.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || Actor.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The BCE positive weight for a client whose balancing weight is <paramref name="balancing"/>.</summary>
    public double PosWeightFor(double balancing) =>
        PosWeight.Equals("auto", StringComparison.OrdinalIgnoreCase) ? balancing : double.Parse(PosWeight, System.Globalization.CultureInfo.InvariantCulture);

    public bool Runs(string baseline) => Baselines.Contains(baseline, StringComparer.OrdinalIgnoreCase);

    public void Validate()
    {
        if (Suite is not ("arithmetic" or "medical")) throw new ConfigException($"suite: unknown suite '{Suite}' (valid: arithmetic, medical).");
        Require(TrainQuestions >= 1 && TestQuestions >= 1, "train_questions/test_questions", "≥ 1");
        Require(K >= 1, "k", "≥ 1");
        Require(Temperature > 0, "temperature", "> 0 (candidates must differ)");
        Require(TopP is > 0 and <= 1, "top_p", "in (0, 1]");
        Require(MaxTokens >= 1 && MaxLength >= 16, "max_tokens/max_length", "≥ 1 / ≥ 16");
        Require(ActorConcurrency >= 1, "actor_concurrency", "≥ 1");
        Require(ClientRanks.Length > 0 && ClientRanks.All(r => r >= 1), "client_ranks", "a non-empty list of ranks ≥ 1");
        Require(LoraScale > 0 && LoraTargets.Length > 0, "lora_scale/lora_targets", "> 0 / non-empty");
        Require(Rounds >= 1 && LocalSteps >= 1 && SftLocalSteps >= 1 && SftRounds is null or >= 1, "rounds/local_steps/sft_rounds/sft_local_steps", "≥ 1");
        Require(LearningRate > 0 && SftLearningRate > 0, "lr/sft_lr", "> 0");
        Require(MicroBatchSize >= 1 && EvalBatchSize >= 1 && SftLoraRank >= 1, "micro_batch_size/eval_batch_size/sft_lora_r", "≥ 1");
        if (!PosWeight.Equals("auto", StringComparison.OrdinalIgnoreCase)
            && !(double.TryParse(PosWeight, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var w) && w > 0 && double.IsFinite(w)))
            throw new ConfigException($"pos_weight: '{PosWeight}' is neither auto nor a number > 0.");
        foreach (var b in Baselines)
            if (!KnownBaselines.Contains(b, StringComparer.OrdinalIgnoreCase))
                throw new ConfigException($"baselines: unknown baseline '{b}' (valid: {string.Join(", ", KnownBaselines)}).");
        Compression.CodecRegistry.Create(UplinkCodec, "uplink_codec");
        Compression.CodecRegistry.Create(DownlinkCodec, "downlink_codec");
    }

    private static void Require(bool ok, string key, string what)
    {
        if (!ok) throw new ConfigException($"{key}: must be {what}.");
    }
}
