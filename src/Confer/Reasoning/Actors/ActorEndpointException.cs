namespace Confer.Reasoning.Actors;

/// <summary>
/// An OpenAI-compatible endpoint could not give an actor its samples: unreachable, too slow, refusing, or answering
/// something that is not OpenAI's JSON. The message is one line naming the URL and what was wrong.
/// </summary>
public sealed class ActorEndpointException(string message, Exception? inner = null) : IOException(message, inner);
