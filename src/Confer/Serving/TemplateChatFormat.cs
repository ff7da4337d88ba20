using Confer.Chat;

namespace Confer.Serving;

/// <summary>
/// Chat in the model's own format: the folder's Hugging Face chat template, rendered with an open assistant turn as
/// transformers' <c>apply_chat_template(…, add_generation_prompt=True)</c> and vLLM render it. The text carries the
/// template's own special tokens, so no BOS is added; the reply ends at the model's end ids (generation_config.json's
/// <c>eos_token_id</c> list, e.g. Llama 3's end of turn, else the tokenizer's EOS).
/// </summary>
public sealed class TemplateChatFormat(ChatTemplate template) : IChatFormat
{
    public string Description => $"the model's chat template ({template.Source})";

    public ChatPrompt Render(IReadOnlyList<ChatMessage> messages)
    {
        try
        {
            return new ChatPrompt(template.Render(messages, addGenerationPrompt: true), AddBos: false, []);
        }
        catch (InvalidDataException e)
        {
            // raise_exception in a template refuses a conversation it cannot write (e.g. roles that do not alternate).
            throw OpenAiException.BadRequest($"The model's chat template cannot render these messages: {e.Message}", "messages");
        }
    }
}
