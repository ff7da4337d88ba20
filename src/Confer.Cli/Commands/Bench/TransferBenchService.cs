using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Grpc.Core;

namespace Confer.Cli.Commands.Bench;

/// <summary>
/// The two tensor-carrying calls of the federation protocol, without a round around them: <c>PushUpdate</c> rebuilds
/// the update from its frames exactly as the server's round coordinator does (<see cref="TensorFrameReader"/>, CRC
/// included) and drops it, and <c>FetchTask</c> streams <paramref name="payload"/> as a task's adapter exactly as the
/// server's service does. What is left to time is the transport.
/// </summary>
internal sealed class TransferBenchService(NamedTensors payload) : Transport.Protocol.Federation.FederationBase
{
    private volatile bool _verify;

    /// <summary>When set, an upload must arrive equal to the payload (else the call fails with <see cref="StatusCode.DataLoss"/>).</summary>
    public bool Verify
    {
        get => _verify;
        set => _verify = value;
    }

    public override async Task<PushReply> PushUpdate(IAsyncStreamReader<UpdateMessage> requestStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct).ConfigureAwait(false) || requestStream.Current.BodyCase != UpdateMessage.BodyOneofCase.Header)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "an update must start with its header."));
        var header = requestStream.Current.Header;
        using var reader = new TensorFrameReader(payload.ByteCount);
        try
        {
            while (await requestStream.MoveNext(ct).ConfigureAwait(false))
            {
                if (requestStream.Current.BodyCase != UpdateMessage.BodyOneofCase.Frame)
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "a second header arrived inside the update."));
                reader.Add(requestStream.Current.Frame);
            }
            reader.Complete(new Dictionary<string, int> { [ProtocolInfo.UpdateSection] = header.Tensors });
        }
        catch (TensorStreamException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        using var update = reader.Take(ProtocolInfo.UpdateSection);
        if (Verify && !LoraShapedTensors.Identical(update, payload))
            throw new RpcException(new Status(StatusCode.DataLoss, "the update arrived different from what was sent."));
        return new PushReply { Message = $"{update.Count} tensors, {update.ByteCount} bytes" };
    }

    public override async Task FetchTask(FetchTaskRequest request, IServerStreamWriter<TaskMessage> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        await responseStream.WriteAsync(new TaskMessage
        {
            Header = new TaskHeader { TaskId = request.TaskId, Round = 1, AdapterTensors = payload.Count, BaseDeltaTensors = 0 },
        }, ct).ConfigureAwait(false);
        foreach (var frame in TensorFrameWriter.Frames(ProtocolInfo.AdapterSection, payload))
            await responseStream.WriteAsync(new TaskMessage { Frame = frame }, ct).ConfigureAwait(false);
    }
}
