using Confer.Federation.Messages;
using Confer.Training;

namespace Confer.Federation.Clients;

/// <summary>
/// The client half of every exchange, the same in a simulation and in a deployed client process: decode the task
/// through the run's message stages, train or evaluate with the client's <see cref="IClientTrainer"/>, encode the reply.
/// </summary>
public sealed class ClientRunner(IClientTrainer client, ClientModel model, MessagePipeline pipeline)
{
    public IClientTrainer Client { get; } = client;

    public ClientModel Model { get; } = model;

    /// <summary>
    /// Runs one task as it arrived (encoded) and returns the encoded reply, which the caller owns. The task's tensors
    /// stay with the caller; anything decoding built is disposed here.
    /// </summary>
    /// <exception cref="InvalidDataException">The task cannot be decoded (its codec is not the run's).</exception>
    public ClientUpdate Run(ClientTask wire, Action<TrainProgress>? progress = null, CancellationToken ct = default)
    {
        var task = pipeline.DecodeTask(wire);
        try
        {
            var reply = task.Kind == TaskKind.Evaluate ? Client.Evaluate(task, Model) : Client.Fit(task, Model, progress, ct);
            var encoded = pipeline.EncodeUpdate(reply, task);
            if (!ReferenceEquals(encoded.Adapter, reply.Adapter)) reply.Adapter.Dispose();
            return encoded;
        }
        finally
        {
            if (!ReferenceEquals(task.Adapter, wire.Adapter)) task.Adapter?.Dispose();
            MessageTensors.ReleaseBaseDelta(task, wire);
        }
    }
}
