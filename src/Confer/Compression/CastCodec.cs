using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Compression;

/// <summary>
/// <c>fp16</c> and <c>bf16</c> (algorithms.md §6.1): each fp32 tensor travels at 16 bits, rounded to nearest even by
/// ATen's conversion (fp16 overflows to ±∞ above 65504 and underflows below ≈6e-8; bf16 keeps fp32's range with 8 bits
/// of precision), and is widened back exactly. Values that overflow to ±∞ are refused by the strategy's finiteness check
/// on the server; for LoRA deltas prefer <c>bf16</c>, which cannot overflow.
/// </summary>
internal sealed class CastCodec(string name, ScalarType wire) : ChainStage
{
    public override string Id => name;

    public override StageRole Role => StageRole.Values;

    protected override ScalarType PrimaryType => wire;

    protected override string? Marker => null;

    protected override void EncodeTensor(string name, Tensor values, CodecContext context, NamedTensors output) => output.Add(name, values.to(wire));

    protected override Tensor DecodeTensor(string name, Tensor primary, IReadOnlyDictionary<string, Tensor> parts, CodecContext context)
    {
        context.Budget.Take(primary.numel() * sizeof(float), name);
        return primary.to(ScalarType.Float32);
    }
}
