namespace Confer.Federation.Deployment;

/// <summary>A selected client whose update did not count in a round, and why (timeout, rejected update, …).</summary>
internal sealed record DroppedClient(string ClientId, string Reason);
