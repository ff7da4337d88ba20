using Confer.Configuration;
using Confer.Peft;
using Confer.Peft.Bottleneck;
using Confer.Peft.PromptTuning;
using Confer.Privacy.DifferentialPrivacy;
using Confer.Robustness.Aggregators;
using Confer.Robustness.Attacks;
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
    [ConfigKey("scheduler", "uniform | all | round-robin | deadline (selects clients predicted to make round_deadline_s), or a name given to SchedulerRegistry.Register")] public string Scheduler { get; set; } = "uniform";
    [ConfigKey("fraction", "share of clients selected per round")] public double Fraction { get; set; } = 0.3;
    [ConfigKey("min_clients", "minimum clients per round")] public int MinClients { get; set; } = 1;

    [ConfigKey("local_epochs", "local epochs per round (when local_steps is 0)")] public int LocalEpochs { get; set; } = 1;
    [ConfigKey("local_steps", "local optimiser steps per round (0 = use local_epochs)")] public int LocalSteps { get; set; } = 12;
    [ConfigKey("lr", "client learning rate")] public double LearningRate { get; set; } = 2e-3;
    [ConfigKey("micro_batch_size", "examples per forward pass")] public int MicroBatchSize { get; set; } = 4;
    [ConfigKey("gradient_accumulation", "micro-batches per optimiser step")] public int GradientAccumulation { get; set; } = 1;
    [ConfigKey("group_by_length", "length-grouped local batches, as Hugging Face's group_by_length: each window of 50 micro-batches of a client's seeded shuffle is sorted longest first, so a batch holds similar lengths and less padding (same examples per epoch, different batches; off reproduces FedIT/Shepherd's order exactly)")]
    public bool GroupByLength { get; set; }
    [ConfigKey("packing", "pack each local micro-batch's examples into as few rows as hold them (rows no longer than its longest example), with a block-diagonal causal mask and positions restarting at 0 per example: same examples, losses and gradients as unpacked, less padding (not with peft_method prompt)")]
    public bool Packing { get; set; }
    [ConfigKey("activation_checkpointing", "recompute each decoder layer's forward during backward instead of keeping its activations: less memory for about one more forward pass, same gradients (LoRA dropout redraws the same masks)")]
    public bool ActivationCheckpointing { get; set; }
    [ConfigKey("bf16", "mixed precision for local training, as Hugging Face's bf16=True: products with the frozen base weights (projections, output layer) run in bfloat16, the rest (norms, attention, LoRA, loss, gradients, optimiser) in float32; about 1.4× faster on CPUs with AVX512-BF16 or AMX, slower on CPUs without (see confer bench matmul --bf16); results differ from float32 within bf16's rounding")]
    public bool Bf16 { get; set; }
    [ConfigKey("schedule", "learning-rate schedule within a round: constant, linear or cosine")] public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Constant;
    [ConfigKey("warmup_ratio", "warm-up share of a round's steps")] public double WarmupRatio { get; set; }
    [ConfigKey("weight_decay", "AdamW weight decay")] public double WeightDecay { get; set; }
    [ConfigKey("max_grad_norm", "gradient clipping norm (0 = off)")] public double MaxGradNorm { get; set; } = 1.0;

    [ConfigKey("lora_r", "LoRA rank (every client's, unless client_ranks is set)")] public int LoraRank { get; set; } = 8;
    [ConfigKey("lora_alpha", "LoRA alpha at lora_r")] public double LoraAlpha { get; set; } = 16;
    [ConfigKey("lora_dropout", "LoRA dropout (0 by default: on CPU its random masks cost more than the projections at this size)")] public double LoraDropout { get; set; }
    [ConfigKey("lora_targets", "module names that get adapters")] public string[] LoraTargets { get; set; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    [ConfigKey("client_ranks", "heterogeneous ranks by client index, e.g. [4, 32, 32, 16, 4] (empty = lora_r)")] public int[] ClientRanks { get; set; } = [];

    [ConfigKey("peft_method", "what clients train and send: lora (LoRA pairs), prompt (a soft prompt, PEFT PROMPT_TUNING) or adapter (bottleneck adapters)")]
    public PeftMethod PeftMethod { get; set; } = PeftMethod.Lora;
    [ConfigKey("prompt_tokens", "peft_method prompt: virtual tokens of the soft prompt")] public int PromptTokens { get; set; } = 20;
    [ConfigKey("prompt_init", "peft_method prompt: vocab (rows of the token embeddings, PEFT SAMPLE_VOCAB) or random (N(0,1), PEFT RANDOM)")]
    public PromptInit PromptInit { get; set; } = PromptInit.Vocab;
    [ConfigKey("adapter_size", "peft_method adapter: bottleneck width m")] public int AdapterSize { get; set; } = 16;
    [ConfigKey("adapter_placement", "peft_method adapter: houlsby (after attention and MLP) or pfeiffer (after the MLP)")]
    public AdapterPlacement AdapterPlacement { get; set; } = AdapterPlacement.Houlsby;
    [ConfigKey("adapter_activation", "peft_method adapter: relu, gelu or silu between the projections")]
    public AdapterActivation AdapterActivation { get; set; } = AdapterActivation.Relu;
    [ConfigKey("adapter_layers", "peft_method adapter: adapt only the top N decoder layers (0 = all)")] public int AdapterLayers { get; set; }

    [ConfigKey("client_devices", "simulated devices and networks by client index (cycled): a profile (hospital-fibre, clinic-dsl, home-cable, phone-4g, lan) and/or 'key=value' fields (speed, up_mbps, down_mbps, latency_ms, dropout, jitter), e.g. ['hospital-fibre', 'phone-4g dropout=0.2']; empty = no network model")]
    public string[] ClientDevices { get; set; } = [];
    [ConfigKey("device_tokens_per_second", "training throughput of a speed-1 device (unset = measured on this machine when the run starts and written to the run's config.yaml)")]
    public double? DeviceTokensPerSecond { get; set; }
    [ConfigKey("round_deadline_s", "simulated seconds a selected client has to return its update (needs client_devices; later ones are dropped); the deadline scheduler selects under it (unset = none)")]
    public double? RoundDeadlineSeconds { get; set; }
    [ConfigKey("rank_by_capacity", "scheduler deadline: give each selected client the largest rank from client_ranks it can train and send within round_deadline_s (flora, flexlora, hetlora, ffa-lora)")]
    public bool RankByCapacity { get; set; }
    [ConfigKey("min_returned", "updates a round needs to aggregate: with client_devices (simulated drop-outs, round_deadline_s) a round that gets fewer is retried or stops the run, see on_short_round (a deployment's server key of the same name applies there)")]
    public int MinReturned { get; set; } = 1;
    [ConfigKey("on_short_round", "when fewer than min_returned updates arrive: retry (run the round again: new drop-out and timing draws) or fail (stop the run; --resume retries the round)")]
    public string OnShortRound { get; set; } = "retry";
    [ConfigKey("max_round_attempts", "attempts per round before the run stops with an error")] public int MaxRoundAttempts { get; set; } = 3;

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
    [ConfigKey("uplink_codec", "how updates travel to the server: a codec chain, e.g. 'topk:0.1 > int8 > zstd' (identity = fp32 as trained; stages: topk, sparse-lora, fp16, bf16, int8, int4, int2, zstd)")]
    public string UplinkCodec { get; set; } = "identity";
    [ConfigKey("downlink_codec", "how tasks (global adapter, merged ΔW) travel to the clients: a codec chain, e.g. 'bf16 > zstd' (identity = fp32)")]
    public string DownlinkCodec { get; set; } = "identity";
    [ConfigKey("uplink_codec_by_client", "per-client uplink chains that replace uplink_codec, e.g. [client_3=identity, client_7=int4 > zstd]")]
    public string[] UplinkCodecByClient { get; set; } = [];
    [ConfigKey("downlink_codec_by_client", "per-client downlink chains that replace downlink_codec, e.g. [client_3=bf16]")]
    public string[] DownlinkCodecByClient { get; set; } = [];
    [ConfigKey("eval_batch_size", "batch size for evaluation")] public int EvalBatchSize { get; set; } = 16;

    [ConfigKey("secure_aggregation", "secure aggregation: clients mask their updates so the server only ever sees the sum (fedavg family, ffa-lora with one rank, flora; several exchanges per round)")]
    public bool SecureAggregation { get; set; }
    [ConfigKey("secagg_threshold", "clients whose shares recover a dropped client's masks; must exceed half the round's clients (0 = a majority)")] public int SecAggThreshold { get; set; }
    [ConfigKey("secagg_clip_range", "fixed-point range c of secure aggregation: each weighted update coordinate is clamped to ±c (updates are far smaller)")]
    public double SecAggClipRange { get; set; } = 8;
    [ConfigKey("dp_clip_norm", "differential privacy (DP-FedAvg): clip each client's whole update to this L2 norm (the start under adaptive clipping); 0 = no DP")]
    public double DpClipNorm { get; set; }
    [ConfigKey("dp_noise_multiplier", "DP noise multiplier z: Gaussian noise std = z·clip / clients in the mean")] public double DpNoiseMultiplier { get; set; } = 1.0;
    [ConfigKey("dp_mode", "where DP noise is added: server (to the mean) or client (each of m clients adds 1/√m of it; meant for secure_aggregation)")]
    public DpMode DpMode { get; set; } = DpMode.Server;
    [ConfigKey("dp_delta", "δ at which ε is reported")] public double DpDelta { get; set; } = 1e-5;
    [ConfigKey("dp_target_epsilon", "stop before a round that would take ε above this (0 = never)")] public double DpTargetEpsilon { get; set; }
    [ConfigKey("dp_clipping", "fixed or adaptive (the clip norm follows dp_target_quantile of the update norms; dp_mode server)")] public DpClipping DpClipping { get; set; } = DpClipping.Fixed;
    [ConfigKey("dp_target_quantile", "adaptive clipping: share of updates to leave unclipped")] public double DpTargetQuantile { get; set; } = 0.5;
    [ConfigKey("dp_clip_lr", "adaptive clipping: learning rate of the geometric clip-norm update")] public double DpClipLearningRate { get; set; } = 0.2;
    [ConfigKey("dp_clipped_count_stddev", "adaptive clipping: noise std on the count of unclipped updates (unset = clients per round / 20)")]
    public double? DpClippedCountStddev { get; set; }
    [ConfigKey("robust_aggregator", "none | median | trimmed-mean | krum | multi-krum | norm-bound, or a name given to RobustAggregatorRegistry.Register (fedavg family)")]
    public string RobustAggregator { get; set; } = RobustAggregatorRegistry.None;
    [ConfigKey("trim_ratio", "trimmed-mean: share β trimmed from each end per coordinate")] public double TrimRatio { get; set; } = 0.1;
    [ConfigKey("byzantine_clients", "krum/multi-krum: malicious clients f tolerated (needs 2f + 3 clients per round)")] public int ByzantineClients { get; set; } = 1;
    [ConfigKey("krum_keep", "multi-krum: lowest-score updates averaged (unset = clients − byzantine_clients)")] public int? KrumKeep { get; set; }
    [ConfigKey("norm_bound", "norm-bound: scale each update to this L2 norm at most")] public double NormBound { get; set; } = 1.0;
    [ConfigKey("attack", "simulated attack: none | sign-flip | scale | noise | poison (confer simulate only)")] public string Attack { get; set; } = "none";
    [ConfigKey("attackers", "attacking client ids, e.g. [client_3]")] public string[] Attackers { get; set; } = [];
    [ConfigKey("attacker_fraction", "share of clients that attack, chosen with the seed (instead of attackers)")] public double AttackerFraction { get; set; }
    [ConfigKey("attack_scale", "λ: sign-flip factor (default 1), scale factor (10), noise std (0.05)")] public double? AttackScale { get; set; }
    [ConfigKey("poison_data", "attack poison: harmful instruction/response pairs the attackers train on")] public string PoisonData { get; set; } = "data/poison/harmful_train.json";
    [ConfigKey("compliance_data", "harmful prompts the server asks the global model at every evaluation; the share it answers with their compliance marker is attack/compliance (empty = off)")]
    public string ComplianceData { get; set; } = "";
    [ConfigKey("baselines", "which baselines to run: local, centralized")] public string[] Baselines { get; set; } = ["local", "centralized"];
    [ConfigKey("baseline_steps", "optimiser steps for each baseline model (0 = compute-matched: centralized trains the federation's total client optimiser steps, each local-only model rounds × its steps per round; a fixed count is labelled not compute-matched)")] public int BaselineSteps { get; set; }
    [ConfigKey("baseline_clients", "local-only baselines for a seeded sample of this many clients (0 = every client)")] public int BaselineClients { get; set; }

    /// <summary>The client optimiser recipe; a simulated client and a deployed client process build it the same way.</summary>
    public Training.TrainerOptions ToTrainerOptions(int padTokenId) => new()
    {
        LearningRate = LearningRate, MaxSteps = LocalSteps, Epochs = LocalEpochs,
        MicroBatchSize = MicroBatchSize, GradientAccumulationSteps = GradientAccumulation,
        Schedule = Schedule, WarmupRatio = WarmupRatio,
        WeightDecay = WeightDecay, MaxGradNorm = MaxGradNorm > 0 ? MaxGradNorm : null,
        PadTokenId = padTokenId, LogEvery = 1, GroupByLength = GroupByLength, Packing = Packing,
        ActivationCheckpointing = ActivationCheckpointing, Bf16 = Bf16,
    };

    /// <summary>The codec chains of every client and direction (the server and each client build the same plan).</summary>
    public Compression.CodecPlan Codecs() => new(UplinkCodec, DownlinkCodec, UplinkCodecByClient, DownlinkCodecByClient);

    /// <summary>The run's PEFT method and its hyper-parameters; a simulated client, a server and a deployed client build it the same way.</summary>
    public PeftOptions ToPeftOptions() => new()
    {
        Method = PeftMethod, LoraTargets = LoraTargets, PromptTokens = PromptTokens, PromptInit = PromptInit,
        AdapterSize = AdapterSize, AdapterPlacement = AdapterPlacement, AdapterActivation = AdapterActivation, AdapterLayers = AdapterLayers,
    };

    /// <summary>The run's tuner (<see cref="ToPeftOptions"/>).</summary>
    public PeftTuner CreateTuner() => PeftTuner.Create(ToPeftOptions());

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
        Require(MaxClientRecords >= 0 && BaselineSteps >= 0 && BaselineClients >= 0, "max_client_records/baseline_steps/baseline_clients", "≥ 0");
        Require(ShardsPerClient >= 1, "shards_per_client", "≥ 1");
        Require(EvalEvery >= 0 && ClientEvalEvery >= 0 && MaxUpdateNorm >= 0, "eval_every/client_eval_every/max_update_norm", "≥ 0");
        Require(MaxClientWeight is null or (> 0 and <= 1), "max_client_weight", "in (0, 1]");
        Require(PromptTokens >= 1 && AdapterSize >= 1 && AdapterLayers >= 0, "prompt_tokens/adapter_size/adapter_layers", "≥ 1 / ≥ 1 / ≥ 0");
        if (PeftMethod != PeftMethod.Lora && ClientRanks.Length > 0)
            throw new ConfigException($"client_ranks: ranks are LoRA's; peft_method {PeftMethod.ToString().ToLowerInvariant()} trains no LoRA. Remove client_ranks or use peft_method: lora.");
        if (Packing && PeftMethod == PeftMethod.Prompt)
            throw new ConfigException("packing: a soft prompt's virtual tokens would belong to the first example of each packed row only; set packing: false for peft_method prompt.");
        Require(DeviceTokensPerSecond is null or > 0, "device_tokens_per_second", "> 0 when set");
        Require(RoundDeadlineSeconds is null or > 0, "round_deadline_s", "> 0 when set");
        Require(MinReturned >= 1 && MaxRoundAttempts >= 1, "min_returned/max_round_attempts", "≥ 1");
        if (OnShortRound is not ("retry" or "fail")) throw new ConfigException($"on_short_round: '{OnShortRound}' is not retry or fail.");
        foreach (var device in ClientDevices) Network.DeviceProfile.Parse(device);
        if (RankByCapacity && !string.Equals(Scheduler, "deadline", StringComparison.OrdinalIgnoreCase))
            throw new ConfigException("rank_by_capacity: ranks are chosen by the deadline scheduler; set scheduler: deadline.");
        if (RankByCapacity && (PeftMethod != PeftMethod.Lora || ClientRanks.Distinct().Count() < 2))
            throw new ConfigException("rank_by_capacity: needs peft_method lora and at least two different ranks in client_ranks to choose from (with flora, flexlora, hetlora or ffa-lora).");
        Require(SecAggThreshold >= 0 && SecAggThreshold != 1, "secagg_threshold", "0 (a majority) or ≥ 2");
        Require(SecAggClipRange > 0 && double.IsFinite(SecAggClipRange), "secagg_clip_range", "> 0");
        if (SecureAggregation && MaxClientRecords < 1)
            throw new ConfigException("secure_aggregation needs max_client_records > 0: each client scales its update by n_k / max_client_records into the fixed-point range, and the server bounds Σ n_k with it.");
        if (SecureAggregation && !string.Equals(UplinkCodec, Compression.IdentityCodec.Name, StringComparison.OrdinalIgnoreCase))
            throw new ConfigException($"secure_aggregation sums fixed-point words, which are its wire format; uplink_codec must be identity (got '{UplinkCodec}').");
        Require(DpClipNorm >= 0 && DpNoiseMultiplier >= 0 && DpTargetEpsilon >= 0, "dp_clip_norm/dp_noise_multiplier/dp_target_epsilon", "≥ 0");
        Require(DpDelta is > 0 and < 1, "dp_delta", "in (0, 1)");
        Require(TrimRatio is >= 0 and < 0.5 && ByzantineClients >= 0 && KrumKeep is null or >= 1 && NormBound > 0, "trim_ratio/byzantine_clients/krum_keep/norm_bound",
            "in [0, 0.5) / ≥ 0 / ≥ 1 / > 0");
        OneOf("robust_aggregator", RobustAggregator, [.. RobustAggregatorRegistry.Names, RobustAggregatorRegistry.None]);
        Require(AttackerFraction is >= 0 and <= 1, "attacker_fraction", "in [0, 1]");
        OneOf("attack", Attack, AttackPlan.KindNames.Keys);
        if (AttackPlan.KindOf(Attack) == AttackKind.Poison && !File.Exists(PoisonData)) throw new ConfigException($"poison_data: '{PoisonData}' does not exist.");
        if (ComplianceData.Length > 0 && !File.Exists(ComplianceData)) throw new ConfigException($"compliance_data: '{ComplianceData}' does not exist.");
        Codecs();
        OneOf("strategy", Strategy, Strategies.StrategyRegistry.Names);
        OneOf("scheduler", Scheduler, Scheduling.SchedulerRegistry.Names);
        OneOf("allocation", Allocation, [.. Federation.Allocation.AllocatorRegistry.Names, "natural"]);
        foreach (var b in Baselines)
            if (b is not ("local" or "centralized")) throw new ConfigException($"baselines: unknown baseline '{b}' (valid: local, centralized).");
    }

    /// <summary>
    /// <see cref="Validate"/> plus what only a simulation needs: its deadline is simulated, so it needs the simulated
    /// network (a deployment's <c>round_deadline_s</c> is a server key and its clock is real).
    /// </summary>
    public void ValidateSimulation()
    {
        Validate();
        if (RoundDeadlineSeconds is not null && ClientDevices.Length == 0)
            throw new ConfigException("round_deadline_s: a simulated deadline needs client_devices (the simulated network that times the clients).");
        if (string.Equals(Scheduler, "deadline", StringComparison.OrdinalIgnoreCase) && RoundDeadlineSeconds is null)
            throw new ConfigException("scheduler: deadline needs round_deadline_s (and client_devices, which time the clients).");
    }

    /// <summary>The run's DP settings (null when dp_clip_norm is 0), with the key of the server's noise stream.</summary>
    public DpSettings? ToDpSettings(byte[] noiseKey) => DpClipNorm > 0
        ? new DpSettings(DpClipNorm, DpNoiseMultiplier, DpMode, DpDelta, DpTargetEpsilon, DpClipping == DpClipping.Adaptive, DpTargetQuantile, DpClipLearningRate,
            DpClippedCountStddev, noiseKey)
        : null;

    /// <summary>The run's robust rule, or null for none.</summary>
    public IRobustAggregator? ToRobustAggregator() =>
        RobustAggregatorRegistry.Create(RobustAggregator, new RobustOptions(TrimRatio, ByzantineClients, KrumKeep, NormBound));

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
