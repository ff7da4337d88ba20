namespace Confer.Federation.Messages;

/// <summary>
/// One stage between the round driver and the clients, applied to every message in both directions and in both modes:
/// the server encodes each task before it leaves (<see cref="EncodeTask"/>) and decodes each update when it arrives
/// (<see cref="DecodeUpdate"/>); the client does the mirror image. The simulation runs both halves in-process, so a
/// lossy stage changes a simulated run exactly as it changes a deployed one, and the traffic ledger counts the encoded
/// bytes. Update codecs, secure-aggregation masking and client-side DP are stages; the default of every method passes
/// the message through.
/// </summary>
/// <remarks>
/// Ownership: a stage never disposes the message it is given. When it returns a message with new tensors, the caller
/// owns those as well and disposes both once the exchange is over (<see cref="MessageTensors"/>). A decode stage
/// throws <see cref="InvalidClientUpdateException"/> (server side) or <see cref="InvalidDataException"/> (client side)
/// for input it cannot decode, naming what is wrong; the update is then refused like any other bad update.
/// </remarks>
public abstract class MessageHook
{
    /// <summary>A short name for logs and errors.</summary>
    public abstract string Name { get; }

    /// <summary>Server side, before a task leaves.</summary>
    public virtual ClientTask EncodeTask(ClientTask task) => task;

    /// <summary>Client side, when a task arrives.</summary>
    public virtual ClientTask DecodeTask(ClientTask task) => task;

    /// <summary>Client side, before an update leaves; <paramref name="task"/> is the decoded task it answers.</summary>
    public virtual ClientUpdate EncodeUpdate(ClientUpdate update, ClientTask task) => update;

    /// <summary>Server side, when an update has arrived; <paramref name="task"/> is the (unencoded) task it answers.</summary>
    public virtual ClientUpdate DecodeUpdate(ClientUpdate update, ClientTask task) => update;
}
