using Confer.Data;

namespace Confer.Reasoning.Suites;

/// <summary>One client's data set in a FedCoT suite: questions with gold answers, split into train and test.</summary>
/// <param name="Name">Data-set name (e.g. <c>pubmedqa</c>, <c>collect</c>); also the client's name in reports.</param>
/// <param name="Train">Questions whose candidates train the discriminator (and the Fed-SFT baseline).</param>
/// <param name="Test">Held-out questions every method is scored on.</param>
public sealed record ReasoningDataset(string Name, IReadOnlyList<QaRecord> Train, IReadOnlyList<QaRecord> Test)
{
    /// <summary>How answers to this data set's questions are read from text (number, option letter, yes/no/maybe).</summary>
    public static AnswerExtractor ExtractorFor(QaRecord record) => AnswerExtractor.For(record);
}

/// <summary>A FedCoT benchmark: one data set per client and the way its questions are put to the actor.</summary>
/// <param name="Name">Suite name (<c>arithmetic</c>, <c>medical</c>).</param>
/// <param name="Datasets">One data set per client, in client order.</param>
/// <param name="Prompt">How a question becomes the actor's prompt and the Fed-SFT target.</param>
public sealed record ReasoningSuite(string Name, IReadOnlyList<ReasoningDataset> Datasets, ReasoningPrompt Prompt);
