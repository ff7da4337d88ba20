using Confer.Chat;
using Confer.Tokenizers;

namespace Confer.Data;

/// <summary>
/// Renders instruction records into prompt and training text, either through a <see cref="PromptTemplate"/> the way
/// Shepherd's <c>Prompter</c> does (the input block only when the input is non-empty, the output appended right after
/// the prompt), or — with the template name <c>chat</c> — in the model's own chat format: the instruction (and input)
/// as a user turn, the output as the assistant's reply, rendered by the model folder's <see cref="ChatTemplate"/>.
/// </summary>
public sealed class Prompter
{
    /// <summary>The template name that selects the model's own chat template.</summary>
    public const string ChatTemplateName = "chat";

    private Prompter(PromptTemplate? template, ChatTemplate? chat)
    {
        Template = template;
        Chat = chat;
    }

    public Prompter(PromptTemplate template) : this(template ?? throw new ArgumentNullException(nameof(template)), null) { }

    /// <summary>The Alpaca-style template; null in chat mode.</summary>
    public PromptTemplate? Template { get; }

    /// <summary>The model's chat template once bound (chat mode only).</summary>
    public ChatTemplate? Chat { get; }

    /// <summary>True for the <c>chat</c> template: prompts are rendered by the model's chat template.</summary>
    public bool UsesChatTemplate => Template is null;

    /// <summary>
    /// Loads a template by name or path (see <see cref="PromptTemplate.Load"/>), or the <c>chat</c> mode, which is
    /// bound to a model's chat template by <see cref="ForTokenizer"/> (as <see cref="ExampleEncoder"/> does).
    /// </summary>
    public static Prompter Load(string templateNameOrPath) =>
        templateNameOrPath == ChatTemplateName ? new Prompter(null, null) : new Prompter(PromptTemplate.Load(templateNameOrPath));

    /// <summary>Chat mode with the given template.</summary>
    public static Prompter ForChat(ChatTemplate chat) => new(null, chat ?? throw new ArgumentNullException(nameof(chat)));

    /// <summary>This prompter, with chat mode bound to <paramref name="tokenizer"/>'s chat template.</summary>
    public Prompter ForTokenizer(TextTokenizer tokenizer)
    {
        if (!UsesChatTemplate || Chat is not null) return this;
        return ForChat(tokenizer.ChatTemplate ?? throw new InvalidDataException(
            "Prompt template 'chat' uses the model's chat template, but the model folder has none (tokenizer_config.json chat_template or chat_template.jinja). " +
            "Use an instruction template such as 'alpaca', or add the model's chat template."));
    }

    /// <summary>The prompt (for generation and label masking) and the full training text of a record.</summary>
    public PromptText Build(InstructionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (Template is { } template)
        {
            var prompt = template.Fill(record.Instruction, record.Input);
            return new PromptText(prompt, prompt + record.Output);
        }
        var chat = Chat ?? throw new InvalidOperationException("Chat prompts need the model's chat template: call ForTokenizer(tokenizer) first.");
        var user = new ChatMessage("user", record.Input.Length == 0 ? record.Instruction : record.Instruction + "\n\n" + record.Input);
        return new PromptText(chat.Render([user], addGenerationPrompt: true), chat.Render([user, new ChatMessage("assistant", record.Output)], addGenerationPrompt: false))
        {
            HasSpecialTokens = true,
        };
    }

    /// <summary>The response part of a generated text: what follows the first response marker, trimmed. Text without
    /// the marker (a generator that returns only the continuation, as in chat mode) is returned trimmed.</summary>
    public string ExtractResponse(string generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        if (Template is null) return generated.Trim();
        var at = generated.IndexOf(Template.ResponseSplit, StringComparison.Ordinal);
        return (at < 0 ? generated : generated[(at + Template.ResponseSplit.Length)..]).Trim();
    }
}
