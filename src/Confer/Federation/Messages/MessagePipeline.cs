namespace Confer.Federation.Messages;

/// <summary>
/// The run's <see cref="MessageHook"/> stages in order. Sending runs them first to last, receiving last to first, so
/// that a stage always decodes what the same stage encoded (e.g. DP clipping before a codec, decoding after it).
/// A message one stage built and the next replaced is disposed here; the caller owns only the input and the result.
/// </summary>
public sealed class MessagePipeline(IReadOnlyList<MessageHook> stages)
{
    public IReadOnlyList<MessageHook> Stages { get; } = stages;

    public ClientTask EncodeTask(ClientTask task) => Run(task, Stages, (s, t) => s.EncodeTask(t));

    public ClientTask DecodeTask(ClientTask task) => Run(task, Stages.Reverse(), (s, t) => s.DecodeTask(t));

    public ClientUpdate EncodeUpdate(ClientUpdate update, ClientTask task) => Run(update, Stages, (s, u) => s.EncodeUpdate(u, task));

    public ClientUpdate DecodeUpdate(ClientUpdate update, ClientTask task) => Run(update, Stages.Reverse(), (s, u) => s.DecodeUpdate(u, task));

    private static ClientTask Run(ClientTask input, IEnumerable<MessageHook> stages, Func<MessageHook, ClientTask, ClientTask> step)
    {
        var current = input;
        foreach (var stage in stages)
        {
            var next = step(stage, current);
            if (!ReferenceEquals(current, input))
            {
                if (current.Adapter is { } a && !ReferenceEquals(a, input.Adapter) && !ReferenceEquals(a, next.Adapter)) a.Dispose();
                if (current.BaseDelta is { } d && !ReferenceEquals(d, input.BaseDelta) && !ReferenceEquals(d, next.BaseDelta)) d.Dispose();
            }
            current = next;
        }
        return current;
    }

    private static ClientUpdate Run(ClientUpdate input, IEnumerable<MessageHook> stages, Func<MessageHook, ClientUpdate, ClientUpdate> step)
    {
        var current = input;
        foreach (var stage in stages)
        {
            var next = step(stage, current);
            if (!ReferenceEquals(current.Adapter, input.Adapter) && !ReferenceEquals(current.Adapter, next.Adapter)) current.Adapter.Dispose();
            current = next;
        }
        return current;
    }
}
