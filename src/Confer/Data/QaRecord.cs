namespace Confer.Data;

/// <summary>
/// One evaluation question with its gold answer, in a form shared by all QA benchmarks.
/// </summary>
/// <param name="Question">The question text.</param>
/// <param name="Options">Multiple-choice options in letter order (A, B, …); null for free-form or yes/no/maybe.</param>
/// <param name="Answer">Gold answer, already normalised: an option letter (MCQ), a number (GSM8K) or yes/no/maybe.</param>
/// <param name="Context">Supporting passage when the benchmark has one (PubMedQA abstracts); null otherwise.</param>
/// <param name="Rationale">Reference reasoning when the benchmark has one (GSM8K worked solution, MedMCQA explanation).</param>
public sealed record QaRecord(string Question, string[]? Options, string Answer, string? Context = null, string? Rationale = null)
{
    /// <summary>The letter of option <paramref name="index"/> (0 → A).</summary>
    public static string OptionLetter(int index) => ((char)('A' + index)).ToString();

    /// <summary>The question followed by one "X. option" line per option, the usual MCQ prompt body.</summary>
    public string FormatWithOptions() =>
        Options is null
            ? Question
            : Question + "\n" + string.Join("\n", Options.Select((o, i) => $"{OptionLetter(i)}. {o}"));
}
