using Confer.Models;

namespace Confer.Compression;

/// <summary>
/// Turns the tensors of one message into what travels and back. <see cref="Encode"/> may return tensors of any dtype
/// and shape (bytes, indices, scales); <see cref="Decode"/> must restore every tensor's name, shape and fp32 values
/// (exactly for a lossless codec) and refuse malformed input with <see cref="InvalidDataException"/> naming the tensor.
/// Neither disposes its input.
/// </summary>
public interface ITensorCodec
{
    /// <summary>The id that travels in the task/update header, e.g. <c>identity</c>.</summary>
    string Id { get; }

    NamedTensors Encode(NamedTensors tensors, CodecContext context);

    NamedTensors Decode(NamedTensors encoded, CodecContext context);
}

/// <summary>Who is sending what: stochastic codecs seed from it, stateful ones (error feedback) key their state on it.</summary>
public sealed record CodecContext(string ClientId, int Round, int Seed);
