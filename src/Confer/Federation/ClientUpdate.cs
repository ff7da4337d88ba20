using Confer.Models;

namespace Confer.Federation;

/// <summary>What a client returns after local training.</summary>
/// <param name="ClientId">The client that trained; must match the id of a task issued this round.</param>
/// <param name="Adapter">
/// The trained adapter under the same keys as the task (PEFT LoRA keys plus other trainable tensors) — the full
/// tensors, not a difference. Under FFA-LoRA the <c>lora_A</c> tensors may be left out (they are frozen). The
/// strategy only reads it; the caller keeps ownership.
/// </param>
/// <param name="NumExamples">n_k, the number of local training examples; sets the client's weight p_k = n_k / Σ n.</param>
/// <param name="Metrics">Client-side training metrics (e.g. <c>train_loss</c>); averaged with weights p_k per round.</param>
public sealed record ClientUpdate(
    string ClientId,
    NamedTensors Adapter,
    long NumExamples,
    IReadOnlyDictionary<string, double> Metrics);
