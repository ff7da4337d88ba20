using Confer.Data;

namespace Confer.Serving;

/// <summary>
/// Chat through the prompt template a model was instruction-tuned with by Confer (e.g. <c>alpaca</c>): the user's
/// message is the instruction, so the model sees exactly the prompt it was trained to answer. Such a template holds
/// one instruction, so a conversation must be one user message, optionally after system messages, whose text goes
/// before the instruction, separated by a blank line.
/// </summary>
public sealed class InstructionChatFormat(PromptTemplate template) : IChatFormat
{
    public string Description => $"prompt template {template.Source}";

    public ChatPrompt Render(IReadOnlyList<ChatTurn> messages)
    {
        var system = messages.TakeWhile(m => m.Role == "system").Select(m => m.Content).ToList();
        var rest = messages.Skip(system.Count).ToList();
        if (rest is not [{ Role: "user" } user])
            throw OpenAiException.BadRequest(
                $"This server renders chat with the one-instruction prompt template {template.Source}: send one user message (optionally after system messages), not a multi-turn conversation.",
                "messages");
        var instruction = string.Join("\n\n", system.Append(user.Content));
        return new ChatPrompt(template.Fill(instruction, ""), AddBos: true, []);
    }
}
