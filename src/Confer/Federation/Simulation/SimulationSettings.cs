using Confer.Configuration;
using Confer.Training;

namespace Confer.Federation.Simulation;

/// <summary>
/// Every key of an experiment YAML file (flat, validated; <c>confer simulate --set key=value</c> overrides). Defaults
/// are the built-in job: the project's base model on the Dolly-15k Shepherd split, FedIT, small enough for 2 cores.
/// </summary>
public sealed class SimulationSettings
{
    [ConfigKey("name", "run name; the run folder is <output>/<name>")] public string Name { get; set; } = "dolly-fedit";
    [ConfigKey("output", "folder that holds run folders")] public string Output { get; set; } = "runs";
    [ConfigKey("seed", "seed for allocation, scheduling, LoRA init and training")] public int Seed { get; set; } = 42;
    [ConfigKey("device", "cpu or cuda[:N]")] public string Device { get; set; } = "cpu";

    [ConfigKey("model", "base model folder (HF layout with tokenizer)")] public string Model { get; set; } = "models/confer-base";
    [ConfigKey("data", "a folder of local_training_<i>.json files (natural: one client each; other allocations pool them), or one JSON/JSONL file")]
    public string Data { get; set; } = "data/dolly-15k/shepherd-10clients";
    [ConfigKey("test_data", "global test set (instruction JSON/JSONL)")] public string TestData { get; set; } = "data/dolly-15k/shepherd-10clients/global_test.json";
    [ConfigKey("allocation", "natural (one file per client) | iid | shards | dirichlet (Shepherd, size-capped) | dirichlet-uncapped | quantity-skew, or a name given to AllocatorRegistry.Register")] public string Allocation { get; set; } = "natural";
    [ConfigKey("clients", "number of clients when splitting one file (ignored for natural)")] public int Clients { get; set; } = 10;
    [ConfigKey("dirichlet_alpha", "Dirichlet concentration for dirichlet, dirichlet-uncapped and quantity-skew")] public double DirichletAlpha { get; set; } = 0.5;
    [ConfigKey("min_client_size", "smallest client for dirichlet, dirichlet-uncapped and quantity-skew")] public int MinClientSize { get; set; } = 40;
    [ConfigKey("shards_per_client", "shards each client gets with allocation shards (Shepherd: 2)")] public int ShardsPerClient { get; set; } = 2;
    [ConfigKey("max_client_records", "cap on each client's training records after the split, 0 = all (a cap flattens size skew; allocation.json records each capped client's capped_from)")]
    public int MaxClientRecords { get; set; } = 400;
    [ConfigKey("local_test_fraction", "share of each client's records held out as its local test split")] public double LocalTestFraction { get; set; } = 0.05;
    [ConfigKey("template", "prompt template name or path, or chat for the model's own chat template")] public string Template { get; set; } = "alpaca";
    [ConfigKey("cutoff_len", "max tokens per example")] public int CutoffLen { get; set; } = 256;
    [ConfigKey("train_on_inputs", "also train on prompt tokens")] public bool TrainOnInputs { get; set; }

    [ConfigKey("strategy", "fedavg | fedprox | fedavgm | fedadagrad | fedadam | fedyogi | flora | ffa-lora | flexlora | hetlora, or a name given to StrategyRegistry.Register")]
    public string Strategy { get; set; } = "fedavg";
    [ConfigKey("rounds", "communication rounds")] public int Rounds { get; set; } = 5;
    [ConfigKey("scheduler", "uniform | all | round-robin, or a name given to SchedulerRegistry.Register")] public string Scheduler { get; set; } = "uniform";
    [ConfigKey("fraction", "share of clients selected per round")] public double Fraction { get; set; } = 0.3;
    [ConfigKey("min_clients", "minimum clients per round")] public int MinClients { get; set; } = 1;

    [ConfigKey("local_epochs", "local epochs per round (when local_steps is 0)")] public int LocalEpochs { get; set; } = 1;
    [ConfigKey("local_steps", "local optimiser steps per round (0 = use local_epochs)")] public int LocalSteps { get; set; } = 12;
    [ConfigKey("lr", "client learning rate")] public double LearningRate { get; set; } = 2e-3;
    [ConfigKey("micro_batch_size", "examples per forward pass")] public int MicroBatchSize { get; set; } = 4;
    [ConfigKey("gradient_accumulation", "micro-batches per optimiser step")] public int GradientAccumulation { get; set; } = 1;
    [ConfigKey("schedule", "learning-rate schedule within a round: constant, linear or cosine")] public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Constant;
    [ConfigKey("warmup_ratio", "warm-up share of a round's steps")] public double WarmupRatio { get; set; }
    [ConfigKey("weight_decay", "AdamW weight decay")] public double WeightDecay { get; set; }
    [ConfigKey("max_grad_norm", "gradient clipping norm (0 = off)")] public double MaxGradNorm { get; set; } = 1.0;

    [ConfigKey("lora_r", "LoRA rank (every client's, unless client_ranks is set)")] public int LoraRank { get; set; } = 8;
    [ConfigKey("lora_alpha", "LoRA alpha at lora_r")] public double LoraAlpha { get; set; } = 16;
    [ConfigKey("lora_dropout", "LoRA dropout (0 by default: on CPU its random masks cost more than the projections at this size)")] public double LoraDropout { get; set; }
    [ConfigKey("lora_targets", "module names that get adapters")] public string[] LoraTargets { get; set; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    [ConfigKey("client_ranks", "heterogeneous ranks by client index, e.g. [4, 32, 32, 16, 4] (empty = lora_r)")] public int[] ClientRanks { get; set; } = [];

    [ConfigKey("proximal_mu", "FedProx μ (fedprox only; unset = 0.01, 0 = FedAvg)")] public double? ProximalMu { get; set; }
    [ConfigKey("server_lr", "server learning rate η (fedavgm 1, fedadagrad/fedadam 0.1, fedyogi 0.01 when unset)")] public double? ServerLearningRate { get; set; }
    [ConfigKey("server_momentum", "FedAvgM β (unset = 0.9; 0 = no momentum)")] public double? ServerMomentum { get; set; }
    [ConfigKey("server_beta1", "FedOpt first-moment decay β1 (fedadam/fedyogi 0.9, fedadagrad 0 when unset)")] public double? ServerBeta1 { get; set; }
    [ConfigKey("server_beta2", "FedOpt second-moment decay β2 (fedadam/fedyogi; unset = 0.99)")] public double? ServerBeta2 { get; set; }
    [ConfigKey("server_tau", "FedOpt adaptivity τ, also v₋₁ = τ² (fedadagrad/fedadam/fedyogi; unset = 1e-3)")] public double? ServerTau { get; set; }

    [ConfigKey("eval_every", "evaluate the global model on test_data every N rounds and after the last (0 = never; a deployed server needs test_data)")]
    public int EvalEvery { get; set; } = 1;
    [ConfigKey("client_eval_every", "federated evaluation: every client evaluates the global model on its local test split every N rounds (0 = final round only)")]
    public int ClientEvalEvery { get; set; }
    [ConfigKey("max_update_norm", "refuse an update whose change of any tensor has an L2 norm above this (0 = off)")] public double MaxUpdateNorm { get; set; }
    [ConfigKey("max_client_weight", "largest aggregation weight p_k one client can get in a round (unset = no cap; the rest is shared by example count)")]
    public double? MaxClientWeight { get; set; }
    [ConfigKey("uplink_codec", "how updates are encoded on the way to the server (identity = fp32 as trained)")] public string UplinkCodec { get; set; } = "identity";
    [ConfigKey("downlink_codec", "how tasks are encoded on the way to the clients (identity = fp32)")] public string DownlinkCodec { get; set; } = "identity";
    [ConfigKey("eval_batch_size", "batch size for evaluation")] public int EvalBatchSize { get; set; } = 16;
    [ConfigKey("baselines", "which baselines to run: local, centralized")] public string[] Baselines { get; set; } = ["local", "centralized"];
    [ConfigKey("baseline_steps", "optimiser steps for each baseline model (0 = matched: local-only rounds × local_steps, centralized the federation's total client steps)")] public int BaselineSteps { get; set; }

    /// <summary>The client optimiser recipe; a simulated client and a deployed client process build it the same way.</summary>
    public Training.TrainerOptions ToTrainerOptions(int padTokenId) => new()
    {
        LearningRate = LearningRate, MaxSteps = LocalSteps, Epochs = LocalEpochs,
        MicroBatchSize = MicroBatchSize, GradientAccumulationSteps = GradientAccumulation,
        Schedule = Schedule, WarmupRatio = WarmupRatio,
        WeightDecay = WeightDecay, MaxGradNorm = MaxGradNorm > 0 ? MaxGradNorm : null,
        PadTokenId = padTokenId, LogEvery = 1,
    };

    public void Validate()
    {
        Require(Rounds >= 1, "rounds", "≥ 1");
        Require(Fraction is > 0 and <= 1, "fraction", "in (0, 1]");
        Require(MinClients >= 1, "min_clients", "≥ 1");
        Require(LocalSteps >= 0 && LocalEpochs >= 1, "local_steps/local_epochs", "≥ 0 / ≥ 1");
        Require(LearningRate > 0, "lr", "> 0");
        Require(MicroBatchSize >= 1 && GradientAccumulation >= 1, "micro_batch_size/gradient_accumulation", "≥ 1");
        Require(LoraRank >= 1 && LoraAlpha > 0, "lora_r/lora_alpha", "positive");
        Require(LoraDropout is >= 0 and < 1, "lora_dropout", "in [0, 1)");
        Require(LocalTestFraction is >= 0 and < 1, "local_test_fraction", "in [0, 1)");
        Require(CutoffLen >= 8, "cutoff_len", "≥ 8");
        Require(MaxClientRecords >= 0 && BaselineSteps >= 0, "max_client_records/baseline_steps", "≥ 0");
        Require(ShardsPerClient >= 1, "shards_per_client", "≥ 1");
        Require(EvalEvery >= 0 && ClientEvalEvery >= 0 && MaxUpdateNorm >= 0, "eval_every/client_eval_every/max_update_norm", "≥ 0");
        Require(MaxClientWeight is null or (> 0 and <= 1), "max_client_weight", "in (0, 1]");
        Compression.CodecRegistry.Create(UplinkCodec, "uplink_codec");
        Compression.CodecRegistry.Create(DownlinkCodec, "downlink_codec");
        OneOf("strategy", Strategy, Strategies.StrategyRegistry.Names);
        OneOf("scheduler", Scheduler, Scheduling.SchedulerRegistry.Names);
        OneOf("allocation", Allocation, [.. Federation.Allocation.AllocatorRegistry.Names, "natural"]);
        foreach (var b in Baselines)
            if (b is not ("local" or "centralized")) throw new ConfigException($"baselines: unknown baseline '{b}' (valid: local, centralized).");
    }

    private static void OneOf(string key, string value, IEnumerable<string> valid)
    {
        if (!valid.Contains(value, StringComparer.OrdinalIgnoreCase))
            throw new ConfigException($"{key}: unknown value '{value}' (valid: {string.Join(", ", valid.Distinct().Order())}).");
    }

    private static void Require(bool ok, string key, string what)
    {
        if (!ok) throw new ConfigException($"{key}: must be {what}.");
    }
}
