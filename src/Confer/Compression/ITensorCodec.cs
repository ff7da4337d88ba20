using Confer.Federation.Clients;
using Confer.Models;

namespace Confer.Compression;

/// <summary>
/// Turns the tensors of one message into what travels and back. <see cref="Encode"/> may return tensors of any dtype
/// and shape (bytes, indices, scales); <see cref="Decode"/> must restore every tensor's name, shape and fp32 values
/// (exactly for a lossless codec) and refuse malformed input with <see cref="InvalidDataException"/> naming the tensor.
/// Neither disposes its input. A codec is one stage of a chain (<see cref="CodecChain"/>) or a chain of its own.
/// </summary>
public interface ITensorCodec
{
    /// <summary>The id that travels in the task/update header, e.g. <c>identity</c> or <c>topk:0.1&gt;int8&gt;zstd</c>.</summary>
    string Id { get; }

    /// <summary>
    /// True when decoding returns the encoded tensors bit for bit. A lossy uplink codec is given each update as its
    /// change from the task's tensors (the receiver adds it back), so its error scales with the update, not the weights.
    /// </summary>
    bool Lossless => false;

    NamedTensors Encode(NamedTensors tensors, CodecContext context);

    NamedTensors Decode(NamedTensors encoded, CodecContext context);
}

/// <summary>Which way a message travels.</summary>
public enum CodecDirection
{
    /// <summary>Client to server: an update.</summary>
    Uplink,

    /// <summary>Server to client: a task.</summary>
    Downlink,
}

/// <summary>
/// Who is sending what: stochastic codecs seed from it (<see cref="StreamKey"/>), stateful ones (error feedback) keep
/// their state in <see cref="State"/> under <see cref="ClientId"/>, and decoders allocate within <see cref="Budget"/>.
/// </summary>
public sealed record CodecContext(string ClientId, int Round, int Seed)
{
    /// <summary>Which way the message travels; uplink and downlink draw different random streams.</summary>
    public CodecDirection Direction { get; init; } = CodecDirection.Uplink;

    /// <summary>The sending client's state store (error-feedback residuals); null where no client encodes (the server).</summary>
    public IClientStateStore? State { get; init; }

    /// <summary>
    /// The tensors coded as a change from a tensor the receiver holds. Only their compression error may be carried into
    /// a later round (error feedback): a tensor sent whole (a freshly initialised LoRA module) means something new every round.
    /// </summary>
    public IReadOnlySet<string> Changes { get; init; } = new HashSet<string>();

    /// <summary>What decoding this message may allocate; shared by the stages of one chain.</summary>
    public DecodeBudget Budget { get; init; } = new(DecodeBudget.DefaultBytes);

    /// <summary>A reproducible 64-bit key for the random draws of one stage on one tensor of this message.</summary>
    public ulong StreamKey(string stage, string tensor)
    {
        var h = Federation.SeedMix.Mix(Seed, Round, ClientId);
        foreach (var c in $"{Direction}/{stage}/{tensor}") h = (h ^ c) * 1099511628211UL;
        h ^= h >> 31; h *= 0x7FB5D329728EA185UL;
        h ^= h >> 27; h *= 0x81DADEF4BC2DD44DUL;
        return h ^ (h >> 33);
    }
}

/// <summary>
/// The bytes a decoder may still allocate for one message. A decoder takes what a tensor will need before allocating
/// it, so a few hostile bytes (a zstd frame of zeros, a sparse tensor claiming a huge shape) cannot make the receiver
/// allocate without bound. The default equals the default <c>max_update_mb</c> (4 GiB): a decoded message may be as
/// large as an undecoded one may be.
/// </summary>
public sealed class DecodeBudget(long bytes)
{
    public const long DefaultBytes = 4L << 30;

    private long _left = bytes;

    /// <summary>Takes <paramref name="bytes"/> for <paramref name="tensor"/>, or throws <see cref="InvalidDataException"/>.</summary>
    public void Take(long bytes, string tensor)
    {
        if (bytes < 0 || bytes > Interlocked.Read(ref _left))
            throw new InvalidDataException($"tensor '{tensor}': decoding it would need {bytes} bytes, more than the {Interlocked.Read(ref _left)} left of this message's decode budget");
        Interlocked.Add(ref _left, -bytes);
    }
}
