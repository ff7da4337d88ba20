using Confer.Federation;
using Confer.Federation.Deployment;
using Confer.Models;
using Confer.Transport.Protocol;
using Grpc.Core;

namespace Confer.Transport;

/// <summary>The gRPC face of <see cref="GrpcClientPool"/>: authentication has already happened; this maps calls and streams tensors.</summary>
internal sealed class FederationService(GrpcClientPool pool) : Protocol.Federation.FederationBase
{
    public override Task<JoinReply> Join(JoinRequest request, ServerCallContext context) =>
        Task.FromResult(pool.Join(TokenAuthInterceptor.ClientId(context), request));

    public override Task<PollReply> Poll(PollRequest request, ServerCallContext context) =>
        pool.PollAsync(TokenAuthInterceptor.ClientId(context), request.WaitSeconds, context.CancellationToken);

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context) =>
        Task.FromResult(new HeartbeatReply { TaskOpen = pool.Heartbeat(TokenAuthInterceptor.ClientId(context), request.TaskId) });

    public override Task FetchTask(FetchTaskRequest request, IServerStreamWriter<TaskMessage> responseStream, ServerCallContext context) =>
        pool.SendTaskAsync(TokenAuthInterceptor.ClientId(context), request.TaskId, (open, task, ct) =>
        {
            var header = new TaskHeader
            {
                TaskId = open.TaskId, Round = task.Round, LoraRank = task.LoraRank, LoraAlpha = task.LoraAlpha, Codec = task.Codec,
                Kind = task.Kind switch
                {
                    TaskKind.Evaluate => TaskHeader.Types.Kind.Evaluate,
                    TaskKind.Setup => TaskHeader.Types.Kind.Setup,
                    _ => TaskHeader.Types.Kind.Train,
                },
                DeadlineSeconds = Math.Max(0, (open.DeadlineUtc - DateTime.UtcNow).TotalSeconds),
            };
            foreach (var (key, value) in task.Config) header.Config[key] = value;
            return TensorStreams.SendTaskAsync(responseStream, header, task.Adapter ?? new NamedTensors(), task.BaseDelta ?? new NamedTensors(), ct);
        }, context.CancellationToken);

    public override async Task<PushReply> PushUpdate(IAsyncStreamReader<UpdateMessage> requestStream, ServerCallContext context) =>
        new() { Message = await pool.ReceiveReplyAsync(TokenAuthInterceptor.ClientId(context), requestStream, context.CancellationToken).ConfigureAwait(false) };
}
