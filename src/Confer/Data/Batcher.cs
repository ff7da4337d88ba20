namespace Confer.Data;

/// <summary>
/// Splits a data set into batches for each epoch. The order is a seeded shuffle per (seed, epoch), so a run is
/// reproducible and any epoch can be replayed on its own. Optional length grouping (off by default, as in Hugging Face)
/// sorts each window of <see cref="LengthGroupWindow"/> batches by length to cut padding, keeping the shuffle between windows.
/// </summary>
public sealed class Batcher
{
    /// <summary>How many batches form one length-sorted window (Hugging Face uses 50).</summary>
    public const int LengthGroupWindow = 50;

    private readonly IReadOnlyList<TokenizedExample> _examples;

    public Batcher(IReadOnlyList<TokenizedExample> examples, int batchSize, long seed,
        bool shuffle = true, bool groupByLength = false, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _examples = examples;
        BatchSize = batchSize;
        Seed = seed;
        Shuffle = shuffle;
        GroupByLength = groupByLength;
        DropLast = dropLast;
    }

    public int BatchSize { get; }
    public long Seed { get; }
    public bool Shuffle { get; }
    public bool GroupByLength { get; }

    /// <summary>Drop a final batch smaller than <see cref="BatchSize"/>.</summary>
    public bool DropLast { get; }

    public int ExampleCount => _examples.Count;

    public int BatchesPerEpoch => DropLast ? _examples.Count / BatchSize : (_examples.Count + BatchSize - 1) / BatchSize;

    /// <summary>The example order for an epoch (indices into the data set).</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, _examples.Count).ToArray();
        if (Shuffle) SplitMix64.ForEpoch(Seed, epoch).Shuffle(order);
        if (GroupByLength)
        {
            var window = BatchSize * LengthGroupWindow;
            for (var start = 0; start < order.Length; start += window)
            {
                var count = Math.Min(window, order.Length - start);
                // Stable sort, longest first, so equal lengths keep their shuffled order.
                var sorted = order.AsSpan(start, count).ToArray()
                    .Select((index, position) => (index, position))
                    .OrderByDescending(p => _examples[p.index].Length).ThenBy(p => p.position)
                    .Select(p => p.index).ToArray();
                sorted.CopyTo(order, start);
            }
        }
        return order;
    }

    /// <summary>The batches of one epoch, as lists of examples; collate them with <see cref="BatchCollator"/> inside the
    /// step that uses them so their tensors live in that step's dispose scope.</summary>
    public IEnumerable<IReadOnlyList<TokenizedExample>> Batches(int epoch)
    {
        var order = Order(epoch);
        for (var b = 0; b < BatchesPerEpoch; b++)
        {
            var start = b * BatchSize;
            var count = Math.Min(BatchSize, order.Length - start);
            var batch = new TokenizedExample[count];
            for (var i = 0; i < count; i++) batch[i] = _examples[order[start + i]];
            yield return batch;
        }
    }
}
