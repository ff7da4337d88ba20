namespace Confer.Federation.Deployment;

/// <summary>A client in the server's registry, as <c>confer token list</c> shows it.</summary>
/// <param name="Id">The client id the operator enrolled.</param>
/// <param name="Revoked">True once its token was revoked and not reissued; a revoked client cannot authenticate.</param>
/// <param name="EnrolledUtc">When its first token was issued (rotation keeps it).</param>
/// <param name="LastSeenUtc">The latest authenticated call the server recorded, or null if it never connected.</param>
internal sealed record EnrolledClient(string Id, bool Revoked, DateTime EnrolledUtc, DateTime? LastSeenUtc);
