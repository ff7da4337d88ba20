using Confer.Chat;
using Confer.Configuration;
using Confer.Data;
using Confer.Serving;
using Confer.Tests.Generation;
using Confer.Tokenizers;

namespace Confer.Tests.Serving;

public sealed class ChatFormatTests
{
    [Fact]
    public void PlainFormatWritesOneLinePerMessageAndOpensTheAssistantTurn()
    {
        var prompt = new PlainChatFormat().Render([new("system", "Be brief."), new("user", "Hi"), new("assistant", "Hello."), new("user", "2+2?")]);
        Assert.Equal("System: Be brief.\nUser: Hi\nAssistant: Hello.\nUser: 2+2?\nAssistant:", prompt.Text);
        Assert.True(prompt.AddBos);
        Assert.Equal(["\nUser:"], prompt.Stops);
    }

    [Fact]
    public void InstructionFormatIsTheTrainingPromptOfOneInstruction()
    {
        var alpaca = new InstructionChatFormat(PromptTemplate.Load("alpaca"));
        // Written out from templates/alpaca.json's prompt_no_input: the prompt Confer instruction-tunes on.
        const string expected = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
                                "### Instruction:\nBe brief.\n\nName a colour.\n\n### Response:\n";
        var prompt = alpaca.Render([new("system", "Be brief."), new("user", "Name a colour.")]);
        Assert.Equal(expected, prompt.Text);
        Assert.True(prompt.AddBos);
        Assert.Empty(prompt.Stops);

        var multiTurn = Assert.Throws<OpenAiException>(() => alpaca.Render([new("user", "Hi"), new("assistant", "Hello"), new("user", "More")]));
        Assert.Equal((400, "messages"), (multiTurn.Status, multiTurn.Param));
        Assert.Contains("send one user message", multiTurn.Message);
        Assert.Throws<OpenAiException>(() => alpaca.Render([new("system", "only a system message")]));
    }

    [Fact]
    public void TheModelsOwnChatTemplateComesFirstAndWritesItsOwnSpecialTokens()
    {
        var llama3 = TokenizerJsonTests.Llama3.Value;
        var format = Assert.IsType<TemplateChatFormat>(ChatFormats.For(null, llama3));
        var chat = TokenizerJsonTests.Reference("llama3").GetProperty("chats")[1];
        var messages = chat.GetProperty("messages").EnumerateArray()
            .Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList();
        var prompt = format.Render(messages);
        // Oracle: the reference ids of this conversation rendered with an open assistant turn (reference_encodings.json).
        Assert.Equal(TokenizerJsonTests.Ids(chat.GetProperty("ids")), llama3.Encode(prompt.Text, addBos: prompt.AddBos));
        Assert.False(prompt.AddBos);
        Assert.Empty(prompt.Stops);

        Assert.IsType<TemplateChatFormat>(ChatFormats.For("chat", llama3));
        Assert.IsType<InstructionChatFormat>(ChatFormats.For("alpaca", llama3));
        var conferBase = TextTokenizer.FromPretrained(CompletionGeneratorTests.ModelFolder);
        Assert.IsType<PlainChatFormat>(ChatFormats.For(null, conferBase));
        Assert.Contains("the model folder has no chat template", Assert.Throws<ConfigException>(() => ChatFormats.For("chat", conferBase)).Message);
    }
}
