using System.Text.Json;
using Confer.Chat;

namespace Confer.Tests;

/// <summary>The models' own Jinja chat templates (../shared/data/tokenizers), rendered and tokenized.</summary>
public sealed class ChatTemplateTests
{
    private static readonly Lazy<ChatTemplate> Llama3 = new(() => ChatTemplate.FromModelFolder(SharedDataPath.Of("tokenizers", "llama3"))!);
    private static readonly Lazy<ChatTemplate> Qwen3 = new(() => ChatTemplate.FromModelFolder(SharedDataPath.Of("tokenizers", "qwen3"))!);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Llama3ChatsRenderAndTokenizeAsTheReference(int index)
    {
        var chat = TokenizerJsonTests.Reference("llama3").GetProperty("chats")[index];
        string rendered = Llama3.Value.Render(chat.GetProperty("messages"), chat.GetProperty("add_generation_prompt").GetBoolean());
        Assert.Equal(chat.GetProperty("rendered").GetString(), rendered);
        Assert.Equal(TokenizerJsonTests.Ids(chat.GetProperty("ids")), TokenizerJsonTests.Llama3.Value.Encode(rendered));
    }

    [Fact]
    public void QwenRendersChatMlWrittenOutByHandFromItsTemplate()
    {
        var template = Qwen3.Value;
        ChatMessage[] chat =
        [
            new("system", "You are a careful clinical assistant."), new("user", "Is aspirin an NSAID?"),
            new("assistant", "Yes."), new("user", "Why?"),
        ];
        Assert.Equal(
            "<|im_start|>system\nYou are a careful clinical assistant.<|im_end|>\n" +
            "<|im_start|>user\nIs aspirin an NSAID?<|im_end|>\n" +
            "<|im_start|>assistant\nYes.<|im_end|>\n" +
            "<|im_start|>user\nWhy?<|im_end|>\n" +
            "<|im_start|>assistant\n",
            template.Render(chat, addGenerationPrompt: true));

        // enable_thinking=false pre-fills an empty thought; the last assistant turn after the last user turn shows its reasoning.
        Assert.Equal("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
            template.Render([new("user", "Q")], true, new Dictionary<string, object?> { ["enable_thinking"] = false }));
        Assert.Equal("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nreason\n</think>\n\nanswer<|im_end|>\n",
            template.Render([new("user", "Q"), new("assistant", "<think>\nreason\n</think>\n\nanswer")], addGenerationPrompt: false));

        var ids = TokenizerJsonTests.Qwen3.Value.Encode(template.Render([new("user", "Hi")], true));
        Assert.Equal([151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198], ids);
    }

    [Fact]
    public void AFolderWithoutATemplateHasNone() =>
        Assert.Null(ChatTemplate.FromModelFolder(SharedDataPath.Of("tokenizers", "gpt2")));

    [Fact]
    public void ChatTemplateJinjaFileWinsAndATemplateListUsesDefault()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tokenizer_config.json"),
            """{"bos_token": "<s>", "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{% endfor %}"}]}""");
        Assert.Equal("<s>[user]", ChatTemplate.FromModelFolder(dir.Path)!.Render([new("user", "x")], false));
        File.WriteAllText(dir.File("chat_template.jinja"), "{{ messages | length }}");
        Assert.Equal("1", ChatTemplate.FromModelFolder(dir.Path)!.Render([new("user", "x")], false));
    }

    [Fact]
    public void TemplatesBeyondTheSubsetFailWhenLoadedNamingTheConstruct()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("chat_template.jinja"), "{% macro m() %}x{% endmacro %}");
        var e = Assert.Throws<InvalidDataException>(() => ChatTemplate.FromModelFolder(dir.Path));
        Assert.Contains("chat_template.jinja", e.Message);
        Assert.Contains("macro", e.Message);

        File.WriteAllText(dir.File("chat_template.jinja"), "{% if messages[0].role != 'user' %}{{ raise_exception('Conversations must start with the user') }}{% endif %}");
        var refused = Assert.Throws<InvalidDataException>(() => ChatTemplate.FromModelFolder(dir.Path)!.Render([new("system", "s")], false));
        Assert.Contains("Conversations must start with the user", refused.Message);
    }

    [Fact]
    public void MessagesFromJsonKeepExtraFields()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("chat_template.jinja"), "{% for m in messages %}{{ m.name | default('?') }}:{{ m.content }};{% endfor %}");
        using var json = JsonDocument.Parse("""[{"role": "user", "content": "a", "name": "ann"}, {"role": "user", "content": "b"}]""");
        Assert.Equal("ann:a;?:b;", ChatTemplate.FromModelFolder(dir.Path)!.Render(json.RootElement, false));
    }
}
