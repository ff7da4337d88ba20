namespace Confer.Data;

/// <summary>
/// Renders instruction records through a <see cref="PromptTemplate"/>, the same way Shepherd's <c>Prompter</c> does:
/// the input block is used only when the input is non-empty, and the output is appended directly after the prompt.
/// </summary>
public sealed class Prompter
{
    public Prompter(PromptTemplate template) => Template = template ?? throw new ArgumentNullException(nameof(template));

    public PromptTemplate Template { get; }

    /// <summary>Loads a template by name or path (see <see cref="PromptTemplate.Load"/>).</summary>
    public static Prompter Load(string templateNameOrPath) => new(PromptTemplate.Load(templateNameOrPath));

    /// <summary>The prompt (for generation and label masking) and the full training text of a record.</summary>
    public PromptText Build(InstructionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var prompt = Template.Fill(record.Instruction, record.Input);
        return new PromptText(prompt, prompt + record.Output);
    }

    /// <summary>The response part of a generated text: what follows the first response marker, trimmed. Text without
    /// the marker (a generator that returns only the continuation) is returned trimmed.</summary>
    public string ExtractResponse(string generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        var at = generated.IndexOf(Template.ResponseSplit, StringComparison.Ordinal);
        return (at < 0 ? generated : generated[(at + Template.ResponseSplit.Length)..]).Trim();
    }
}
