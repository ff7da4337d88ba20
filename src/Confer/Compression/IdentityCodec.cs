using Confer.Models;

namespace Confer.Compression;

/// <summary>Sends tensors as they are (fp32 adapters): the reference every other codec is measured against.</summary>
public sealed class IdentityCodec : ITensorCodec
{
    public const string Name = "identity";

    public string Id => Name;

    public bool Lossless => true;

    /// <summary>The same tensors: the message keeps ownership, nothing is copied.</summary>
    public NamedTensors Encode(NamedTensors tensors, CodecContext context) => tensors;

    public NamedTensors Decode(NamedTensors encoded, CodecContext context) => encoded;
}
