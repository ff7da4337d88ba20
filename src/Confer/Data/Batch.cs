using static TorchSharp.torch;

namespace Confer.Data;

/// <summary>
/// A padded batch, [batch, seq] int64 each, right-padded to the longest example (or the longest packed row). It owns its tensors; inside a
/// training step's dispose scope they are freed with the scope, outside one call <see cref="Dispose"/>.
/// The counts are computed on the CPU while collating, so the trainer never reads them back from the device.
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(Tensor inputIds, Tensor attentionMask, Tensor labels, int exampleCount, long tokenCount, long targetTokenCount, Tensor? positionIds = null)
    {
        PositionIds = positionIds;
        InputIds = inputIds;
        AttentionMask = attentionMask;
        Labels = labels;
        ExampleCount = exampleCount;
        TokenCount = tokenCount;
        TargetTokenCount = targetTokenCount;
    }

    public Tensor InputIds { get; }

    /// <summary>1 on real tokens, 0 on padding.</summary>
    public Tensor AttentionMask { get; }

    /// <summary>Unshifted labels; padding and masked prompt positions are <see cref="TokenizedExample.IgnoreLabel"/>.</summary>
    public Tensor Labels { get; }

    /// <summary>Packed rows (<see cref="BatchCollator.CollatePacked"/>): each token's position within its own example,
    /// [batch, seq] int64; null for one example per row.</summary>
    public Tensor? PositionIds { get; }

    /// <summary>Examples in the batch (a packed row holds several).</summary>
    public int ExampleCount { get; }

    /// <summary>Real (non-padding) tokens in the batch.</summary>
    public long TokenCount { get; }

    /// <summary>Tokens the shifted loss is averaged over; what gradient accumulation weights micro-batches by.</summary>
    public long TargetTokenCount { get; }

    /// <summary>The batch on another device (a new batch; this one is unchanged).</summary>
    public Batch To(Device device) =>
        new(InputIds.to(device), AttentionMask.to(device), Labels.to(device), ExampleCount, TokenCount, TargetTokenCount, PositionIds?.to(device));

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        Labels.Dispose();
        PositionIds?.Dispose();
    }
}
