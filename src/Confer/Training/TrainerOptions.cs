using Confer.Data;

namespace Confer.Training;

/// <summary>
/// Hyper-parameters of one local training run. Defaults follow Hugging Face's <c>TrainingArguments</c> where Shepherd
/// relies on them (AdamW betas 0.9/0.999, ε 1e-8, clip at 1.0, linear schedule) and Shepherd's recipe otherwise
/// (lr 3e-4, micro-batch 8). <see cref="Validate"/> is called by the trainer so bad values fail before any compute.
/// </summary>
public sealed record TrainerOptions
{
    public double LearningRate { get; init; } = 3e-4;

    /// <summary>Decoupled (AdamW) weight decay, applied to matrices only; biases and norm weights (1-D) are never decayed.</summary>
    public double WeightDecay { get; init; }

    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Passes over the data; ignored when <see cref="MaxSteps"/> is set.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Optimiser steps to run (cycling through epochs as needed); 0 means "use <see cref="Epochs"/>".</summary>
    public int MaxSteps { get; init; }

    /// <summary>Examples per forward/backward pass; bounds memory.</summary>
    public int MicroBatchSize { get; init; } = 8;

    /// <summary>Micro-batches per optimiser step; the effective batch is <see cref="MicroBatchSize"/> × this.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Warm-up length in optimiser steps; when 0, <see cref="WarmupRatio"/> of the total is used.</summary>
    public int WarmupSteps { get; init; }

    public double WarmupRatio { get; init; }

    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Linear;

    /// <summary>Clip the global gradient L2 norm to this value; null disables clipping.</summary>
    public double? MaxGradNorm { get; init; } = 1.0;

    /// <summary>Seeds torch (dropout, initialisation done during training) and the data order.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>Report progress every this many optimiser steps (and always after the last).</summary>
    public int LogEvery { get; init; } = 1;

    /// <summary>FedProx μ: adds μ/2·Σ‖w − w₀‖² over the trainable tensors, w₀ taken when training starts. 0 disables it.</summary>
    public double ProximalMu { get; init; }

    /// <summary>Parameters whose name contains any of these strings are frozen for the run (FFA-LoRA: <c>lora_A</c>)
    /// and unfrozen again afterwards.</summary>
    public IReadOnlyList<string> FrozenParameterNames { get; init; } = [];

    /// <summary>Id written into padded positions; it never reaches the loss.</summary>
    public long PadTokenId { get; init; }

    /// <summary>Sort each window of batches by length to reduce padding (changes batch composition, not the data).</summary>
    public bool GroupByLength { get; init; }

    /// <summary>Pack each micro-batch's examples into as few rows as hold them (<see cref="BatchCollator.CollatePacked"/>),
    /// with a block-diagonal causal mask and per-example positions: the same examples, losses and gradients as
    /// unpacked, with less padding. Needs a <see cref="Models.CausalLanguageModel"/> that accepts position ids.</summary>
    public bool Packing { get; init; }

    /// <summary>Recompute each decoder layer's forward during backward instead of keeping its activations
    /// (<see cref="Models.CausalLanguageModel.GradientCheckpointing"/>): less memory, about one more forward pass of compute.</summary>
    public bool ActivationCheckpointing { get; init; }

    /// <summary>Mixed precision as Hugging Face's <c>bf16=True</c>, for the products that dominate adapter training:
    /// every product with a frozen weight runs in bfloat16 (<see cref="Models.LowPrecisionMatmuls"/>); the rest of the
    /// step, the trained weights and their gradients stay float32. Several times faster on CPUs with bf16 matrix units
    /// (AVX512-BF16, AMX), slower on ones without.</summary>
    public bool Bf16 { get; init; }

    /// <summary>
    /// Optimiser steps a run over <paramref name="count"/> examples (or blocks) takes: <see cref="MaxSteps"/> when set,
    /// else every epoch's micro-batches grouped into steps of <see cref="GradientAccumulationSteps"/> (a short last
    /// group is a step too).
    /// </summary>
    public int TotalSteps(int count)
    {
        if (MaxSteps > 0) return MaxSteps;
        var microBatches = (count + MicroBatchSize - 1) / MicroBatchSize;
        return Epochs * ((microBatches + GradientAccumulationSteps - 1) / GradientAccumulationSteps);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        Require(LearningRate >= 0 && double.IsFinite(LearningRate), nameof(LearningRate), "must be a finite number ≥ 0");
        Require(WeightDecay >= 0, nameof(WeightDecay), "must be ≥ 0");
        Require(Beta1 is >= 0 and < 1, nameof(Beta1), "must be in [0, 1)");
        Require(Beta2 is >= 0 and < 1, nameof(Beta2), "must be in [0, 1)");
        Require(Epsilon > 0, nameof(Epsilon), "must be > 0");
        Require(MaxSteps >= 0, nameof(MaxSteps), "must be ≥ 0 (0 = use Epochs)");
        Require(MaxSteps > 0 || Epochs > 0, nameof(Epochs), "must be ≥ 1 when MaxSteps is 0");
        Require(MicroBatchSize > 0, nameof(MicroBatchSize), "must be ≥ 1");
        Require(GradientAccumulationSteps > 0, nameof(GradientAccumulationSteps), "must be ≥ 1");
        Require(WarmupSteps >= 0, nameof(WarmupSteps), "must be ≥ 0");
        Require(WarmupRatio is >= 0 and <= 1, nameof(WarmupRatio), "must be in [0, 1]");
        Require(MaxGradNorm is null or > 0, nameof(MaxGradNorm), "must be > 0, or null to disable clipping");
        Require(LogEvery > 0, nameof(LogEvery), "must be ≥ 1");
        Require(ProximalMu >= 0, nameof(ProximalMu), "must be ≥ 0");
        Require(FrozenParameterNames.All(n => !string.IsNullOrEmpty(n)), nameof(FrozenParameterNames), "must not contain empty names");
    }

    private static void Require(bool ok, string name, string rule)
    {
        if (!ok) throw new ArgumentException($"TrainerOptions.{name} {rule}.", name);
    }

    /// <summary>AdamW over <paramref name="parameters"/>: matrices are decayed, 1-D tensors (biases, norm weights) are
    /// not, as in Hugging Face's Trainer.</summary>
    internal TorchSharp.torch.optim.Optimizer CreateAdamW(IReadOnlyList<TorchSharp.Modules.Parameter> parameters)
    {
        var groups = new List<TorchSharp.Modules.AdamW.ParamGroup>();
        var decayed = parameters.Where(p => p.dim() >= 2).ToList();
        var undecayed = parameters.Where(p => p.dim() < 2).ToList();
        if (decayed.Count > 0) groups.Add(new TorchSharp.Modules.AdamW.ParamGroup(decayed, new TorchSharp.Modules.AdamW.Options { weight_decay = WeightDecay }));
        if (undecayed.Count > 0) groups.Add(new TorchSharp.Modules.AdamW.ParamGroup(undecayed, new TorchSharp.Modules.AdamW.Options { weight_decay = 0.0 }));
        return TorchSharp.torch.optim.AdamW(groups, LearningRate, Beta1, Beta2, Epsilon, WeightDecay);
    }

    /// <summary>The run's bf16 products for <paramref name="model"/> when <see cref="Bf16"/> is set (dispose at the
    /// end of the run), else null: every trainer takes its precision from here.</summary>
    internal Models.LowPrecisionMatmuls? LowPrecisionFor(TorchSharp.torch.nn.Module model) => Bf16 ? Models.LowPrecisionMatmuls.Enable(model) : null;
}
