namespace Confer.Data;

/// <summary>
/// A tokenised causal-LM training example: input ids and per-position labels of the same length. Labels are
/// <em>unshifted</em> (label[i] is the token at position i); the loss shifts them, as Hugging Face models do.
/// Positions the loss must ignore (prompt tokens, padding) carry <see cref="IgnoreLabel"/>.
/// </summary>
public sealed class TokenizedExample
{
    /// <summary>The label value cross-entropy skips (PyTorch's default <c>ignore_index</c>).</summary>
    public const int IgnoreLabel = -100;

    public TokenizedExample(int[] inputIds, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(labels);
        if (inputIds.Length == 0) throw new ArgumentException("An example needs at least one token.", nameof(inputIds));
        if (labels.Length != inputIds.Length)
            throw new ArgumentException($"labels has {labels.Length} entries but input_ids has {inputIds.Length}; they must match.", nameof(labels));
        InputIds = inputIds;
        Labels = labels;
        var targets = 0;
        for (var i = 1; i < labels.Length; i++) if (labels[i] != IgnoreLabel) targets++;
        TargetCount = targets;
    }

    public int[] InputIds { get; }

    public int[] Labels { get; }

    public int Length => InputIds.Length;

    /// <summary>Tokens the shifted loss is computed on: labels at positions 1.. that are not ignored. Position 0 is never
    /// a target because no token precedes it.</summary>
    public int TargetCount { get; }
}
