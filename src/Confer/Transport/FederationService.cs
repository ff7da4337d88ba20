using Confer.Federation.Deployment;
using Confer.Models;
using Confer.Transport.Protocol;
using Grpc.Core;

namespace Confer.Transport;

/// <summary>The gRPC face of <see cref="RoundCoordinator"/>: authentication has already happened; this maps calls and streams tensors.</summary>
internal sealed class FederationService(RoundCoordinator coordinator) : Protocol.Federation.FederationBase
{
    public override Task<JoinReply> Join(JoinRequest request, ServerCallContext context) =>
        Task.FromResult(coordinator.Join(TokenAuthInterceptor.ClientId(context), request));

    public override Task<PollReply> Poll(PollRequest request, ServerCallContext context) =>
        coordinator.PollAsync(TokenAuthInterceptor.ClientId(context), request.WaitSeconds, context.CancellationToken);

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context) =>
        Task.FromResult(new HeartbeatReply { TaskOpen = coordinator.Heartbeat(TokenAuthInterceptor.ClientId(context), request.TaskId) });

    public override async Task FetchTask(FetchTaskRequest request, IServerStreamWriter<TaskMessage> responseStream, ServerCallContext context)
    {
        var (round, task) = coordinator.AcquireTask(TokenAuthInterceptor.ClientId(context), request.TaskId);
        try
        {
            var header = new TaskHeader
            {
                TaskId = round.TaskId, Round = task.Round, LoraRank = task.LoraRank, LoraAlpha = task.LoraAlpha, FreezeLoraA = task.FreezeLoraA,
                ProximalMu = task.ProximalMu, DeadlineSeconds = Math.Max(0, (round.DeadlineUtc - DateTime.UtcNow).TotalSeconds),
            };
            await TensorStreams.SendTaskAsync(responseStream, header, task.Adapter ?? new NamedTensors(), round.BaseDelta ?? new NamedTensors(), context.CancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            round.Release();
        }
    }

    public override async Task<PushReply> PushUpdate(IAsyncStreamReader<UpdateMessage> requestStream, ServerCallContext context) =>
        new() { Message = await coordinator.ReceiveUpdateAsync(TokenAuthInterceptor.ClientId(context), requestStream, context.CancellationToken).ConfigureAwait(false) };
}
