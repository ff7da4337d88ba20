using Confer.Data;

namespace Confer.Serving;

/// <summary>Chooses how a served model renders chat requests.</summary>
public static class ChatFormats
{
    /// <summary>
    /// The prompt template named by <c>--template</c> when given, else the plain fallback. (A model folder's own
    /// chat template, once the tokenizer reads one, comes first: it is the format the model was trained on.)
    /// </summary>
    /// <param name="template">A prompt template name or JSON file (e.g. alpaca), or null.</param>
    public static IChatFormat For(string? template) =>
        template is null ? new PlainChatFormat() : new InstructionChatFormat(PromptTemplate.Load(template));
}
