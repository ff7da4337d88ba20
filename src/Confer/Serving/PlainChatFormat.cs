namespace Confer.Serving;

/// <summary>
/// The fallback chat format for a model without one of its own: each message on its own line as <c>System: …</c>,
/// <c>User: …</c> or <c>Assistant: …</c>, then <c>Assistant:</c> for the reply, which ends at the model's EOS or at a
/// new line starting <c>User:</c>. A base model has seen transcripts like this; no model was trained on it, so a
/// model with a chat template or an instruction template should be served with that instead.
/// </summary>
public sealed class PlainChatFormat : IChatFormat
{
    /// <summary>The stop string the format implies: the model starting the user's next turn.</summary>
    public const string NextTurn = "\nUser:";

    public string Description => "plain (System:/User:/Assistant: lines)";

    public ChatPrompt Render(IReadOnlyList<ChatTurn> messages)
    {
        var text = new System.Text.StringBuilder();
        foreach (var m in messages) text.Append(Label(m.Role)).Append(": ").Append(m.Content).Append('\n');
        text.Append("Assistant:");
        return new ChatPrompt(text.ToString(), AddBos: true, [NextTurn]);
    }

    private static string Label(string role) => role switch
    {
        "system" => "System",
        "user" => "User",
        "assistant" => "Assistant",
        _ => throw new ArgumentException($"Unknown chat role '{role}'.", nameof(role)),
    };
}
