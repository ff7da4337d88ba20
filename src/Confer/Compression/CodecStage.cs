using Confer.Federation;
using Confer.Federation.Messages;
using Confer.Models;

namespace Confer.Compression;

/// <summary>
/// The message stage that runs the run's codecs: <c>downlink_codec</c> on tasks, <c>uplink_codec</c> on updates. The
/// codec id travels with each message; a receiver refuses a message whose id is not the run's codec (an unknown id
/// never reaches a decoder), and a decoder's refusal becomes a refused update naming the tensor.
/// </summary>
public sealed class CodecStage(ITensorCodec uplink, ITensorCodec downlink, int seed) : MessageHook
{
    public override string Name => $"codecs (up {uplink.Id}, down {downlink.Id})";

    public override ClientTask EncodeTask(ClientTask task)
    {
        var context = new CodecContext(task.ClientId, task.Round, seed);
        return task with { Adapter = Encode(downlink, task.Adapter, context), BaseDelta = Encode(downlink, task.BaseDelta, context), Codec = downlink.Id };
    }

    public override ClientTask DecodeTask(ClientTask task)
    {
        if (task.Codec != downlink.Id)
            throw new InvalidDataException($"the task is encoded with codec '{task.Codec}', but this run's downlink_codec is '{downlink.Id}'");
        var context = new CodecContext(task.ClientId, task.Round, seed);
        return task with { Adapter = Decode(downlink, task.Adapter, context), BaseDelta = Decode(downlink, task.BaseDelta, context), Codec = "" };
    }

    public override ClientUpdate EncodeUpdate(ClientUpdate update, ClientTask task) =>
        update with { Adapter = uplink.Encode(update.Adapter, new CodecContext(update.ClientId, task.Round, seed)), Codec = uplink.Id };

    public override ClientUpdate DecodeUpdate(ClientUpdate update, ClientTask task)
    {
        if (update.Codec != uplink.Id)
            throw new InvalidClientUpdateException(update.ClientId, $"its update is encoded with codec '{Printable(update.Codec)}', but this run's uplink_codec is '{uplink.Id}'.");
        try
        {
            return update with { Adapter = uplink.Decode(update.Adapter, new CodecContext(update.ClientId, task.Round, seed)), Codec = "" };
        }
        catch (InvalidDataException e)
        {
            throw new InvalidClientUpdateException(update.ClientId, $"its update cannot be decoded with '{uplink.Id}': {e.Message}");
        }
    }

    private static NamedTensors? Encode(ITensorCodec codec, NamedTensors? tensors, CodecContext context) => tensors is null ? null : codec.Encode(tensors, context);

    private static NamedTensors? Decode(ITensorCodec codec, NamedTensors? tensors, CodecContext context) => tensors is null ? null : codec.Decode(tensors, context);

    /// <summary>A client-chosen string, cut and stripped of control characters before it reaches a log line.</summary>
    private static string Printable(string s) => new([.. s.Take(40).Select(c => char.IsControl(c) ? '?' : c)]);
}
