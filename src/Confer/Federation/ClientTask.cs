using Confer.Models;

namespace Confer.Federation;

/// <summary>
/// One client's work order for one round, built by a <see cref="Strategy"/>. The client builds LoRA at
/// <paramref name="LoraRank"/> with scale <c>LoraAlpha / LoraRank</c> on top of base + <paramref name="BaseDelta"/>,
/// starts it from <paramref name="Adapter"/>, trains and returns a <see cref="ClientUpdate"/>.
/// </summary>
/// <param name="Round">1-based round number.</param>
/// <param name="ClientId">Client that must run this task.</param>
/// <param name="Adapter">
/// Tensors to start from, under PEFT keys (<c>LoraKeys.A/B</c>) plus any other trainable tensor (e.g. a head) under
/// its HF name. A LoRA module that has no tensors here is freshly PEFT-initialised at <paramref name="LoraRank"/>;
/// <c>null</c> means every module starts fresh. Owned by the receiver: dispose it when loaded.
/// </param>
/// <param name="BaseDelta">
/// Dense ΔW already merged into the base (keys <c>LoraKeys.DenseWeight(path)</c>), cumulative since the pretrained
/// base; <c>null</c> = none. Shared by reference between tasks and owned by the strategy: read it, never dispose or
/// modify it; it is valid until the next <see cref="Strategy.AggregateTrain"/>.
/// </param>
/// <param name="LoraRank">Rank r_k of this client's adapter (heterogeneous ranks differ per client).</param>
/// <param name="LoraAlpha">PEFT alpha; the client's LoRA scale is <c>LoraAlpha / LoraRank</c>.</param>
/// <param name="FreezeLoraA">FFA-LoRA: keep every <c>lora_A</c> at the value given here; train only <c>lora_B</c>.</param>
/// <param name="ProximalMu">FedProx μ: add μ(w − w_start) to each trainable gradient; 0 = off.</param>
/// <param name="Downlink">What the server sends this client for this task, for communication accounting.</param>
public sealed record ClientTask(
    int Round,
    string ClientId,
    NamedTensors? Adapter,
    NamedTensors? BaseDelta,
    int LoraRank,
    double LoraAlpha,
    bool FreezeLoraA,
    double ProximalMu,
    TransferCost Downlink);
