using Confer.Data;
namespace Confer.Training;

/// <summary>
/// The step plan of the trainers that see a fixed list of items (masked-LM blocks, replaced-token blocks, discriminator
/// candidates): each epoch shuffles the item indices with SplitMix64 for (seed, epoch), cuts micro-batches of
/// <see cref="TrainerOptions.MicroBatchSize"/> and groups them into steps of
/// <see cref="TrainerOptions.GradientAccumulationSteps"/>; an epoch's last step may be short. Continues into further
/// epochs until <c>totalSteps</c> are planned.
/// </summary>
internal static class ShuffledStepPlan
{
    public static IEnumerable<(int Epoch, IReadOnlyList<int[]> MicroBatches)> Steps(int count, int totalSteps, TrainerOptions options)
    {
        var planned = 0;
        for (var epoch = 0; ; epoch++)
        {
            var order = Enumerable.Range(0, count).ToArray();
            SplitMix64.ForEpoch(options.Seed, epoch).Shuffle(order);
            foreach (var step in order.Chunk(options.MicroBatchSize).Chunk(options.GradientAccumulationSteps))
            {
                yield return (epoch, step);
                if (++planned == totalSteps) yield break;
            }
        }
    }
}
