namespace Confer.Federation.Messages;

/// <summary>
/// The run's <see cref="MessageHook"/> stages in order. Sending runs them first to last, receiving last to first, so
/// that a stage always decodes what the same stage encoded (e.g. DP clipping before a codec, decoding after it).
/// </summary>
public sealed class MessagePipeline(IReadOnlyList<MessageHook> stages)
{
    public IReadOnlyList<MessageHook> Stages { get; } = stages;

    public ClientTask EncodeTask(ClientTask task) => Stages.Aggregate(task, (t, s) => s.EncodeTask(t));

    public ClientTask DecodeTask(ClientTask task) => Stages.Reverse().Aggregate(task, (t, s) => s.DecodeTask(t));

    public ClientUpdate EncodeUpdate(ClientUpdate update, ClientTask task) => Stages.Aggregate(update, (u, s) => s.EncodeUpdate(u, task));

    public ClientUpdate DecodeUpdate(ClientUpdate update, ClientTask task) => Stages.Reverse().Aggregate(update, (u, s) => s.DecodeUpdate(u, task));
}
