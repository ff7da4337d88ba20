using static TorchSharp.torch;

namespace Confer.Models.Safetensors;

/// <summary>
/// One tensor's entry in a safetensors header: enough to check a checkpoint against a model (name, dtype, shape)
/// and to read the tensor later without touching any other data.
/// </summary>
/// <param name="Name">The tensor's key, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Dtype">The dtype as the file spells it (<c>F32</c>, <c>BF16</c>, ...).</param>
/// <param name="ScalarType">The TorchSharp element type for <paramref name="Dtype"/>.</param>
/// <param name="Shape">The shape; empty for a scalar.</param>
/// <param name="Begin">Start of the tensor's bytes, relative to the start of the data section.</param>
/// <param name="End">End (exclusive) of the tensor's bytes, relative to the start of the data section.</param>
public sealed record SafetensorsTensorInfo(string Name, string Dtype, ScalarType ScalarType, long[] Shape, long Begin, long End)
{
    public long ByteCount => End - Begin;

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape as <c>[a, b]</c>, for error messages.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
