namespace Confer.Federation;

/// <summary>
/// A client update that cannot be aggregated (wrong keys or shapes, non-finite values, not issued this round).
/// <see cref="Strategy.AggregateTrain"/> validates every update before changing any state, so the engine may drop
/// <see cref="ClientId"/> and call it again with the remaining updates.
/// </summary>
public sealed class InvalidClientUpdateException(string clientId, string reason)
    : Exception($"Update from client '{clientId}': {reason}")
{
    public string ClientId { get; } = clientId;

    /// <summary>What is wrong with the update, without the client prefix or a final period (for messages that name the client themselves and go on).</summary>
    public string Reason { get; } = reason.TrimEnd('.');
}
