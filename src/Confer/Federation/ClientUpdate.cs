using Confer.Models;

namespace Confer.Federation;

/// <summary>What a client returns for a <see cref="ClientTask"/>: the trained adapter, or (evaluation) only metrics.</summary>
/// <param name="ClientId">The client that ran the task; must match the id of a task issued this round.</param>
/// <param name="Adapter">
/// The trained adapter under the same keys as the task (PEFT LoRA keys plus other trainable tensors) — the full
/// tensors, not a difference. Under FFA-LoRA the frozen <c>lora_A</c> tensors are left out. Empty for an evaluation.
/// The strategy only reads it; whoever received the update disposes it.
/// </param>
/// <param name="NumExamples">
/// n_k: training examples (sets the client's weight p_k), or the evaluated examples. Reported by the client, so a
/// server bounds it before use.
/// </param>
/// <param name="Metrics">Client-side metrics (e.g. <c>train_loss</c>; <c>local_loss</c> for an evaluation).</param>
public sealed record ClientUpdate(
    string ClientId,
    NamedTensors Adapter,
    long NumExamples,
    IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>How the tensors are encoded on the wire (the uplink codec's id; see <c>Messages/</c>).</summary>
    public string Codec { get; init; } = "";
}
