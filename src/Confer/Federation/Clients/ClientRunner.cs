using Confer.Federation.Messages;
using Confer.Privacy.SecureAggregation;
using Confer.Training;

namespace Confer.Federation.Clients;

/// <summary>
/// The client half of every exchange, the same in a simulation and in a deployed client process: decode the task
/// through the run's message stages, train or evaluate with the client's <see cref="IClientTrainer"/>, encode the reply.
/// Under secure aggregation it also keeps the client's session across a round's exchanges: set-up tasks go to the
/// session, and a masked-input task is trained as usual and its encoded update masked before it leaves.
/// </summary>
public sealed class ClientRunner(IClientTrainer client, ClientModel model, MessagePipeline pipeline) : IDisposable
{
    private readonly SecureAggregationClient _secure = new(client.Id);

    public IClientTrainer Client { get; } = client;

    public ClientModel Model { get; } = model;

    /// <summary>
    /// Runs one task as it arrived (encoded) and returns the encoded reply, which the caller owns. The task's tensors
    /// stay with the caller; anything decoding built is disposed here.
    /// </summary>
    /// <exception cref="InvalidDataException">The task cannot be decoded (its codec is not the run's) or is an invalid secure-aggregation step.</exception>
    public ClientUpdate Run(ClientTask wire, Action<TrainProgress>? progress = null, CancellationToken ct = default)
    {
        if (wire.Kind == TaskKind.Setup) return _secure.Setup(wire);
        var masked = SecAggMessages.Step(wire) == SecAggMessages.MaskedInput;
        var task = pipeline.DecodeTask(wire);
        try
        {
            var reply = task.Kind == TaskKind.Evaluate ? Client.Evaluate(task, Model) : Client.Fit(task, Model, progress, ct);
            var encoded = pipeline.EncodeUpdate(reply, task);
            if (!ReferenceEquals(encoded.Adapter, reply.Adapter)) reply.Adapter.Dispose();
            if (!masked) return encoded;
            using (encoded.Adapter) return _secure.Mask(encoded, task);
        }
        finally
        {
            if (!ReferenceEquals(task.Adapter, wire.Adapter)) task.Adapter?.Dispose();
            MessageTensors.ReleaseBaseDelta(task, wire);
        }
    }

    public void Dispose() => _secure.Dispose();
}
