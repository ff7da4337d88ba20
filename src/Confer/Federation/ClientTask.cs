using Confer.Models;

namespace Confer.Federation;

/// <summary>What a client is asked to do with a <see cref="ClientTask"/>.</summary>
public enum TaskKind
{
    /// <summary>Train locally from the task's state and return the trained adapter.</summary>
    Train,

    /// <summary>Evaluate the task's state on the local test split and return the loss (no tensors).</summary>
    Evaluate,

    /// <summary>
    /// One step of a protocol's set-up (secure aggregation's key and share exchanges): no model, no training; what the
    /// step is travels in <see cref="ClientTask.Config"/>, its data as tensors.
    /// </summary>
    Setup,
}

/// <summary>
/// One client's work order for one round, built by a <see cref="Strategy"/> (training) or by the round driver
/// (evaluation). The client builds LoRA at <paramref name="LoraRank"/> with scale <c>LoraAlpha / LoraRank</c> on top of
/// base + <paramref name="BaseDelta"/>, starts it from <paramref name="Adapter"/>, trains (or evaluates) and returns a
/// <see cref="ClientUpdate"/>.
/// </summary>
/// <param name="Round">1-based round number.</param>
/// <param name="ClientId">Client that must run this task.</param>
/// <param name="Adapter">
/// Tensors to start from, under PEFT keys (<c>LoraKeys.A/B</c>) plus any other trainable tensor (e.g. a head) under
/// its HF name. A LoRA module that has no tensors here is freshly PEFT-initialised at <paramref name="LoraRank"/>;
/// <c>null</c> means every module starts fresh. Owned by the task: whoever ends the task disposes it.
/// </param>
/// <param name="BaseDelta">
/// Dense ΔW already merged into the base (keys <c>LoraKeys.DenseWeight(path)</c>), cumulative since the pretrained
/// base; <c>null</c> = none. Shared by reference between the tasks of a round and owned by whoever built them: read
/// it, never dispose or modify it.
/// </param>
/// <param name="LoraRank">Rank r_k of this client's adapter (heterogeneous ranks differ per client).</param>
/// <param name="LoraAlpha">PEFT alpha; the client's LoRA scale is <c>LoraAlpha / LoraRank</c>.</param>
public sealed record ClientTask(
    int Round,
    string ClientId,
    NamedTensors? Adapter,
    NamedTensors? BaseDelta,
    int LoraRank,
    double LoraAlpha)
{
    public TaskKind Kind { get; init; } = TaskKind.Train;

    /// <summary>
    /// Free-form instructions to the client, as Flower's <c>FitIns.config</c>: they travel as a string map, so a new
    /// strategy's client-side knob needs no protocol change. Keys the Confer client understands are in
    /// <see cref="TaskConfig"/>.
    /// </summary>
    public TaskConfig Config { get; init; } = TaskConfig.Empty;

    /// <summary>How the tensors are encoded on the wire (the downlink codec's id; see <c>Messages/</c>).</summary>
    public string Codec { get; init; } = "";

    /// <summary>FedProx μ: the client adds μ(w − w_start) to each trainable gradient; 0 = off.</summary>
    public double ProximalMu => Config.GetDouble(TaskConfig.ProximalMu) ?? 0;

    /// <summary>FFA-LoRA: keep every <c>lora_A</c> at the value given here; train (and send back) only <c>lora_B</c>.</summary>
    public bool FreezeLoraA => Config.Get(TaskConfig.Freeze) == "lora_A";
}
