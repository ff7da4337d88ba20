using Confer.Configuration;
using Confer.Data;
using Confer.Tokenizers;

namespace Confer.Serving;

/// <summary>Chooses how a served model renders chat requests.</summary>
public static class ChatFormats
{
    /// <summary>
    /// The prompt template <c>--template</c> names (<c>chat</c>: the model's own chat template, as in finetune); without
    /// one, the model folder's chat template when it has one — the format the model was trained on — else the plain
    /// fallback.
    /// </summary>
    /// <param name="template">A prompt template name or JSON file (e.g. alpaca), <c>chat</c>, or null.</param>
    /// <param name="tokenizer">The model's tokenizer, which reads the folder's chat template (only when it is used).</param>
    public static IChatFormat For(string? template, TextTokenizer tokenizer) => template switch
    {
        Prompter.ChatTemplateName => new TemplateChatFormat(tokenizer.ChatTemplate ?? throw new ConfigException(
            $"--template {Prompter.ChatTemplateName}: the model folder has no chat template (tokenizer_config.json chat_template or chat_template.jinja); name a prompt template such as alpaca, or leave --template out for the plain format.")),
        null => tokenizer.ChatTemplate is { } own ? new TemplateChatFormat(own) : new PlainChatFormat(),
        _ => new InstructionChatFormat(PromptTemplate.Load(template)),
    };
}
