namespace Confer.Data;

/// <summary>
/// Turns a model's free-text output into a comparable answer. Each benchmark family has its own rule (last number,
/// option letter, yes/no/maybe); all of them return the answer already normalised, and null when nothing usable is
/// found so that an unparseable output counts as wrong rather than matching by accident.
/// </summary>
public abstract class AnswerExtractor
{
    /// <summary>GSM8K style: the number after <c>####</c>, else after "answer is", else the last number in the text.</summary>
    public static AnswerExtractor Number { get; } = new NumberAnswerExtractor();

    /// <summary>Multiple choice: the option letter (A, B, …), also recognised from the option's text.</summary>
    public static AnswerExtractor OptionLetter { get; } = new OptionLetterAnswerExtractor();

    /// <summary>PubMedQA / BioASQ style: yes, no or maybe.</summary>
    public static AnswerExtractor YesNoMaybe { get; } = new YesNoMaybeAnswerExtractor();

    /// <summary>The extractor that fits a record: option letter when it has options, yes/no/maybe when its answer is one
    /// of those, otherwise number.</summary>
    public static AnswerExtractor For(QaRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Options is not null) return OptionLetter;
        return record.Answer is "yes" or "no" or "maybe" ? YesNoMaybe : Number;
    }

    /// <summary>The normalised answer found in <paramref name="generated"/>, or null when none is found.
    /// <paramref name="record"/> (optional) gives the options a multiple-choice answer may quote.</summary>
    public abstract string? Extract(string generated, QaRecord? record = null);

    /// <summary>Canonical form of an answer, so that "1,000", "1000.0" and "$1000" compare equal.</summary>
    public abstract string Normalize(string answer);

    /// <summary>True when the extracted answer equals the normalised gold answer.</summary>
    public bool IsCorrect(string generated, QaRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var predicted = Extract(generated, record);
        return predicted is not null && predicted == Normalize(record.Answer);
    }
}
