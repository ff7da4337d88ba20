using Confer.Data;
using TorchSharp;

namespace Confer.Tests.Data;

public class BatcherTests
{
    private static TokenizedExample Example(int length, int promptLength, int start = 10) =>
        new(Enumerable.Range(start, length).ToArray(),
            Enumerable.Range(start, length).Select((id, i) => i < promptLength ? TokenizedExample.IgnoreLabel : id).ToArray());

    [Fact]
    public void CollateRightPadsToTheLongestWithMaskAndIgnoredLabels()
    {
        using var batch = BatchCollator.Collate([Example(5, 2), Example(3, 1), Example(7, 7)], padTokenId: 0);
        Assert.Equal([3L, 7L], batch.InputIds.shape);
        Assert.Equal([3L, 7L], batch.AttentionMask.shape);
        Assert.Equal([3L, 7L], batch.Labels.shape);
        Assert.Equal(torch.ScalarType.Int64, batch.InputIds.dtype);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1 }, batch.AttentionMask.data<long>().ToArray());
        Assert.Equal(new long[] { -100, -100, 12, 13, 14, -100, -100 }, batch.Labels[0].data<long>().ToArray());
        Assert.Equal(new long[] { 10, 11, 12, 0, 0, 0, 0 }, batch.InputIds[1].data<long>().ToArray());
        Assert.Equal(15, batch.TokenCount);
        Assert.Equal(3 + 2 + 0, batch.TargetTokenCount);
        Assert.Equal(batch.TargetTokenCount, batch.Labels.narrow(1, 1, 6).ne(-100).sum().item<long>());
    }

    [Fact]
    public void ShuffleIsSeededPerEpochAndCoversEveryExampleOnce()
    {
        var examples = Enumerable.Range(0, 23).Select(i => Example(2 + i % 5, 1, start: i * 10)).ToList();
        var a = new Batcher(examples, batchSize: 4, seed: 7);
        var b = new Batcher(examples, batchSize: 4, seed: 7);
        Assert.Equal(a.Order(0), b.Order(0));
        Assert.Equal(a.Order(3), b.Order(3));
        Assert.NotEqual(a.Order(0), a.Order(1));
        Assert.NotEqual(a.Order(0), new Batcher(examples, 4, seed: 8).Order(0));
        Assert.Equal(Enumerable.Range(0, 23), a.Order(2).Order());

        var batches = a.Batches(0).ToList();
        Assert.Equal(6, a.BatchesPerEpoch);
        Assert.Equal([4, 4, 4, 4, 4, 3], batches.Select(x => x.Count));
        Assert.Equal(a.Order(0).Select(i => examples[i]), batches.SelectMany(x => x));
        Assert.Equal(5, new Batcher(examples, 4, 7, dropLast: true).Batches(0).Count());
        Assert.Equal(Enumerable.Range(0, 23), new Batcher(examples, 4, 7, shuffle: false).Order(0));
    }

    [Fact]
    public void LengthGroupingSortsEachWindowLongestFirst()
    {
        var examples = Enumerable.Range(0, 300).Select(i => Example(1 + (i * 37) % 41, 0)).ToList();
        var batcher = new Batcher(examples, batchSize: 2, seed: 1, groupByLength: true);
        var order = batcher.Order(0);
        var window = 2 * Batcher.LengthGroupWindow;
        var firstWindow = order.Take(window).Select(i => examples[i].Length).ToList();
        Assert.Equal(firstWindow.OrderDescending(), firstWindow);
        Assert.Equal(new Batcher(examples, 2, 1).Order(0).Take(window).Order(), order.Take(window).Order());
        Assert.Equal(Enumerable.Range(0, 300), order.Order());
    }

    [Fact]
    public void ExamplesValidateTheirShapeAndCountTargetsAfterTheShift()
    {
        Assert.Throws<ArgumentException>(() => new TokenizedExample([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => new TokenizedExample([], []));
        Assert.Equal(2, new TokenizedExample([1, 2, 3], [1, 2, 3]).TargetCount); // position 0 has no predecessor
    }
}
