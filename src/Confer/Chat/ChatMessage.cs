namespace Confer.Chat;

/// <summary>One turn of a conversation: <see cref="Role"/> is "system", "user", "assistant" (or "tool").</summary>
public sealed record ChatMessage(string Role, string Content);
