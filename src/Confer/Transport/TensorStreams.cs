using Confer.Models;
using Confer.Transport.Protocol;
using Grpc.Core;

namespace Confer.Transport;

/// <summary>
/// The two tensor-carrying calls of the protocol, both ends of each: a task (header, then adapter and base-delta
/// frames) and an update (header, then its frames). The server, <c>confer client</c> and <c>confer bench transfer</c>
/// all go through here, so the benchmark times exactly what a deployment runs.
/// </summary>
internal static class TensorStreams
{
    public static async Task SendTaskAsync(IAsyncStreamWriter<TaskMessage> stream, TaskHeader header, NamedTensors adapter, NamedTensors baseDelta, CancellationToken ct)
    {
        header.AdapterTensors = adapter.Count;
        header.BaseDeltaTensors = baseDelta.Count;
        await stream.WriteAsync(new TaskMessage { Header = header }, ct).ConfigureAwait(false);
        foreach (var frame in TensorFrameWriter.Frames(ProtocolInfo.AdapterSection, adapter).Concat(TensorFrameWriter.Frames(ProtocolInfo.BaseDeltaSection, baseDelta)))
            await stream.WriteAsync(new TaskMessage { Frame = frame }, ct).ConfigureAwait(false);
    }

    /// <summary>The task's header, adapter and base delta; throws <see cref="TensorStreamException"/> on a malformed stream.</summary>
    public static async Task<(TaskHeader Header, NamedTensors Adapter, NamedTensors BaseDelta)> ReceiveTaskAsync(IAsyncStreamReader<TaskMessage> stream, CancellationToken ct)
    {
        if (!await stream.MoveNext(ct).ConfigureAwait(false) || stream.Current.BodyCase != TaskMessage.BodyOneofCase.Header)
            throw new TensorStreamException(null, "the task stream did not start with its header.");
        var header = stream.Current.Header;
        // The client trusts its server's sizes: it asked for this task.
        using var reader = new TensorFrameReader(long.MaxValue);
        while (await stream.MoveNext(ct).ConfigureAwait(false))
        {
            if (stream.Current.BodyCase != TaskMessage.BodyOneofCase.Frame) throw new TensorStreamException(null, "a second header arrived inside the task.");
            reader.Add(stream.Current.Frame);
        }
        reader.Complete(new Dictionary<string, int>
        {
            [ProtocolInfo.AdapterSection] = header.AdapterTensors, [ProtocolInfo.BaseDeltaSection] = header.BaseDeltaTensors,
        });
        return (header, reader.Take(ProtocolInfo.AdapterSection), reader.Take(ProtocolInfo.BaseDeltaSection));
    }

    /// <summary>Writes the header and frames of an update and ends the request stream.</summary>
    public static async Task SendUpdateAsync(IClientStreamWriter<UpdateMessage> stream, UpdateHeader header, NamedTensors tensors, CancellationToken ct)
    {
        header.Tensors = tensors.Count;
        await stream.WriteAsync(new UpdateMessage { Header = header }, ct).ConfigureAwait(false);
        foreach (var frame in TensorFrameWriter.Frames(ProtocolInfo.UpdateSection, tensors))
            await stream.WriteAsync(new UpdateMessage { Frame = frame }, ct).ConfigureAwait(false);
        await stream.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>The update's header (first message), or null when the stream does not start with one.</summary>
    public static async Task<UpdateHeader?> ReceiveUpdateHeaderAsync(IAsyncStreamReader<UpdateMessage> stream, CancellationToken ct) =>
        await stream.MoveNext(ct).ConfigureAwait(false) && stream.Current.BodyCase == UpdateMessage.BodyOneofCase.Header ? stream.Current.Header : null;

    /// <summary>
    /// The update's tensors after its header, at most <paramref name="maxBytes"/> of them; throws
    /// <see cref="TensorStreamException"/> when the stream is malformed, corrupted or truncated.
    /// </summary>
    /// <remarks><paramref name="onFrame"/> is called as each frame arrives: the server counts a flowing upload as a sign of life.</remarks>
    public static async Task<NamedTensors> ReceiveUpdateTensorsAsync(IAsyncStreamReader<UpdateMessage> stream, UpdateHeader header, long maxBytes,
        Action? onFrame, CancellationToken ct)
    {
        using var reader = new TensorFrameReader(maxBytes);
        while (await stream.MoveNext(ct).ConfigureAwait(false))
        {
            if (stream.Current.BodyCase != UpdateMessage.BodyOneofCase.Frame) throw new TensorStreamException(null, "a second header arrived inside the update.");
            onFrame?.Invoke();
            reader.Add(stream.Current.Frame);
        }
        reader.Complete(new Dictionary<string, int> { [ProtocolInfo.UpdateSection] = header.Tensors });
        return reader.Take(ProtocolInfo.UpdateSection);
    }
}
