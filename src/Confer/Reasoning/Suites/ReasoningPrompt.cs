using Confer.Data;

namespace Confer.Reasoning.Suites;

/// <summary>
/// How a suite asks its questions: the prompt the actor completes, where a completion stops, and the response a
/// fine-tuned actor is taught (the Fed-SFT baseline trains on it).
/// </summary>
public sealed class ReasoningPrompt
{
    private readonly string _instruction;

    private ReasoningPrompt(string name, string instruction, string answerCue, IReadOnlyList<string> stop)
    {
        Name = name;
        _instruction = instruction;
        AnswerCue = answerCue;
        Stop = stop;
    }

    /// <summary>Template name, recorded in the candidate-cache key.</summary>
    public string Name { get; }

    /// <summary>What the prompt ends with; the completion continues it.</summary>
    public string AnswerCue { get; }

    /// <summary>Stop strings for the actor.</summary>
    public IReadOnlyList<string> Stop { get; }

    /// <summary>
    /// The format the built-in arithmetic actor was trained on: <c>Question: …\nAnswer:</c>, one line of equations, then
    /// <c>The answer is N.</c>
    /// </summary>
    public static ReasoningPrompt WorkedSolution { get; } = new("worked-solution", "", "Answer:", ["\n"]);

    /// <summary>
    /// Zero-shot chain of thought for instruction-following models (the medical suite): an instruction naming the answer
    /// format, the question with its options, and <c>Answer: Let's think step by step.</c>
    /// </summary>
    public static ReasoningPrompt ChainOfThought { get; } = new("chain-of-thought",
        "Answer the question. Think step by step, then finish with \"The answer is X.\" where X is ", "Answer: Let's think step by step.",
        ["\nQuestion:", "\n\n\n"]);

    /// <summary>
    /// The prompt a FedCoT run's <c>suite</c> key asks with: the worked-solution format for the built-in arithmetic
    /// suite, zero-shot chain of thought for the medical suite (and any instruction-following actor).
    /// </summary>
    public static ReasoningPrompt ForSuite(string suite) => suite switch
    {
        ArithmeticSuite.Name => WorkedSolution,
        MedicalSuite.Name => ChainOfThought,
        _ => throw new Configuration.ConfigException($"suite: unknown suite '{suite}' (valid: {ArithmeticSuite.Name}, {MedicalSuite.Name})."),
    };

    /// <summary>The prompt for <paramref name="record"/>.</summary>
    public string Format(QaRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var body = $"Question: {record.FormatWithOptions()}\n{AnswerCue}";
        return _instruction.Length == 0 ? body : $"{_instruction}{AnswerForm(record)}.\n\n{body}";
    }

    /// <summary>The instruction-style pieces of <see cref="Format"/> for an instruction template: everything before the cue.</summary>
    public string Instruction(QaRecord record) => Format(record)[..^AnswerCue.Length].TrimEnd('\n');

    /// <summary>
    /// What a model that solved <paramref name="record"/> should write after the cue: the reference rationale when the
    /// data set has one, then <c>The answer is X.</c> (the sentence every extractor reads).
    /// </summary>
    public static string Target(QaRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var rationale = string.IsNullOrWhiteSpace(record.Rationale) ? "" : record.Rationale.Trim() + " ";
        return $" {rationale}The answer is {record.Answer}.";
    }

    private static string AnswerForm(QaRecord record) => record switch
    {
        { Options: { } options } => $"the letter of the correct option ({string.Join(", ", options.Select((_, i) => QaRecord.OptionLetter(i)))})",
        { Answer: "yes" or "no" or "maybe" } => "yes, no or maybe",
        _ => "a number",
    };
}
