namespace Confer.Serving;

/// <summary>One message of a chat request: <see cref="Role"/> is system, user or assistant.</summary>
public sealed record ChatTurn(string Role, string Content);

/// <summary>A rendered conversation: the prompt text, whether BOS goes before it, and stop strings the format implies.</summary>
/// <param name="Text">The prompt, ending where the assistant's reply begins.</param>
/// <param name="AddBos">False when the text already carries its special tokens (an HF chat template writes its own).</param>
/// <param name="Stops">Strings that end the reply in this format (e.g. the next turn's marker), added to the request's.</param>
public sealed record ChatPrompt(string Text, bool AddBos, IReadOnlyList<string> Stops);

/// <summary>
/// How a chat request becomes a prompt for a causal LM. The model's own chat template is the right format whenever the
/// model folder has one; a Confer prompt template (<see cref="InstructionChatFormat"/>) fits a model instruction-tuned
/// by Confer; <see cref="PlainChatFormat"/> is the documented fallback. <see cref="ChatFormats.For"/> chooses.
/// </summary>
public interface IChatFormat
{
    /// <summary>What the format is, for the startup line and errors.</summary>
    string Description { get; }

    /// <summary>The prompt for the assistant's next reply.</summary>
    /// <exception cref="OpenAiException">The conversation cannot be written in this format (400).</exception>
    ChatPrompt Render(IReadOnlyList<ChatTurn> messages);
}
