using Confer.Models.Bert;
using static TorchSharp.torch;

namespace Confer.Reasoning.Discriminator;

/// <summary>Pads a list of inputs to the longest one: ids (pad id), segment ids (0), attention mask (1 = token), labels.</summary>
internal static class DiscriminatorBatch
{
    public static (BertInput Input, Tensor Labels) Collate(IReadOnlyList<DiscriminatorExample> examples, long padId, Device device)
    {
        var width = examples.Max(e => e.Ids.Length);
        var ids = new long[examples.Count * width];
        var types = new long[examples.Count * width];
        var mask = new long[examples.Count * width];
        Array.Fill(ids, padId);
        for (var b = 0; b < examples.Count; b++)
        {
            var e = examples[b];
            for (var t = 0; t < e.Ids.Length; t++)
            {
                ids[b * width + t] = e.Ids[t];
                types[b * width + t] = e.TypeIds[t];
                mask[b * width + t] = 1;
            }
        }
        long[] shape = [examples.Count, width];
        var input = new BertInput(tensor(ids, shape, device: device), tensor(mask, shape, device: device), tensor(types, shape, device: device));
        return (input, tensor(examples.Select(e => e.Label).ToArray(), device: device));
    }
}
