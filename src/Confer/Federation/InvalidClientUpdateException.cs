namespace Confer.Federation;

/// <summary>
/// A client update that cannot be aggregated (wrong keys or shapes, non-finite values, not issued this round).
/// <see cref="Strategy.AggregateTrain"/> validates every update before changing any state, so the engine may drop
/// <see cref="ClientId"/> and call it again with the remaining updates.
/// </summary>
public sealed class InvalidClientUpdateException(string clientId, string message)
    : Exception($"Update from client '{clientId}': {message}")
{
    public string ClientId { get; } = clientId;
}
