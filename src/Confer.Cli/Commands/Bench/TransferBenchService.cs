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
        var header = await TensorStreams.ReceiveUpdateHeaderAsync(requestStream, ct).ConfigureAwait(false)
                     ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "an update must start with its header."));
        NamedTensors update;
        try
        {
            update = await TensorStreams.ReceiveUpdateTensorsAsync(requestStream, header, payload.ByteCount, null, ct).ConfigureAwait(false);
        }
        catch (TensorStreamException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        using (update)
        {
            if (Verify && !LoraShapedTensors.Identical(update, payload))
                throw new RpcException(new Status(StatusCode.DataLoss, "the update arrived different from what was sent."));
            return new PushReply { Message = $"{update.Count} tensors, {update.ByteCount} bytes" };
        }
    }

    public override async Task FetchTask(FetchTaskRequest request, IServerStreamWriter<TaskMessage> responseStream, ServerCallContext context)
    {
        using var none = new NamedTensors();
        await TensorStreams.SendTaskAsync(responseStream, new TaskHeader { TaskId = request.TaskId, Round = 1 }, payload, none, context.CancellationToken)
            .ConfigureAwait(false);
    }
}
