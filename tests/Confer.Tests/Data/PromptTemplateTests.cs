using Confer.Data;

namespace Confer.Tests.Data;

public class PromptTemplateTests
{
    private const string NoInputPrompt =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\nName a colour.\n\n### Response:\n";

    [Fact]
    public void AlpacaTemplateLoadsByNameAndRendersBothForms()
    {
        var prompter = Prompter.Load("alpaca");
        Assert.Equal("### Response:", prompter.Template!.ResponseSplit);

        var plain = prompter.Build(new InstructionRecord("Name a colour.", "", "Red.", null));
        Assert.Equal(NoInputPrompt, plain.Prompt);
        Assert.Equal(NoInputPrompt + "Red.", plain.Full);

        var withInput = prompter.Build(new InstructionRecord("Summarise.", "Cats sleep a lot.", "Cats nap.", null));
        Assert.Equal(
            "Below is an instruction that describes a task, paired with an input that provides further context. " +
            "Write a response that appropriately completes the request.\n\n### Instruction:\nSummarise.\n\n" +
            "### Input:\nCats sleep a lot.\n\n### Response:\n", withInput.Prompt);
    }

    [Fact]
    public void TemplateLoadsFromAPathAndBracesInRecordsStayLiteral()
    {
        var path = Path.Combine(DataPaths.RepoRoot, "templates", "alpaca.json");
        var prompter = new Prompter(PromptTemplate.Load(path));
        var text = prompter.Build(new InstructionRecord("Explain {input} and {{x}}.", "", "ok", null));
        Assert.Contains("### Instruction:\nExplain {input} and {{x}}.\n", text.Prompt);
    }

    [Fact]
    public void InvalidTemplatesFailOnLoadWithTheField()
    {
        using var unknown = new TempFile("""{"prompt_input": "{instruction} {input} {oops} ###", "prompt_no_input": "{instruction} ###", "response_split": "###"}""");
        var e = Assert.Throws<InvalidDataException>(() => PromptTemplate.Load(unknown.Path));
        Assert.Contains("'prompt_input'", e.Message);
        Assert.Contains("unknown placeholder", e.Message);

        using var noSplit = new TempFile("""{"prompt_input": "{instruction} {input}", "prompt_no_input": "{instruction} R:", "response_split": "R:"}""");
        Assert.Contains("does not contain the response_split", Assert.Throws<InvalidDataException>(() => PromptTemplate.Load(noSplit.Path)).Message);

        using var missing = new TempFile("""{"prompt_input": "{instruction} {input} R:", "prompt_no_input": "{instruction} R:"}""");
        Assert.Contains("'response_split'", Assert.Throws<InvalidDataException>(() => PromptTemplate.Load(missing.Path)).Message);

        Assert.Throws<FileNotFoundException>(() => PromptTemplate.Load("no-such-template"));
    }

    [Fact]
    public void ExtractResponseCutsAtTheMarker()
    {
        var prompter = Prompter.Load("alpaca");
        Assert.Equal("Blue.", prompter.ExtractResponse(NoInputPrompt + " Blue. \n"));
        Assert.Equal("Just text", prompter.ExtractResponse("  Just text\n"));
    }
}
