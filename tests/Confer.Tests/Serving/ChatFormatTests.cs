using Confer.Data;
using Confer.Serving;

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
}
