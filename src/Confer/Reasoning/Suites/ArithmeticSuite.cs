using System.Text;
using System.Text.Json;
using Confer.Data;
using Confer.Federation;
using Confer.Runtime;

namespace Confer.Reasoning.Suites;

/// <summary>
/// The built-in FedCoT suite: multi-step arithmetic word problems with worked solutions, one
/// <see cref="ArithmeticFamily"/> per client, generated from a seed. Train and test questions are distinct, and the
/// corpora that pre-train the shipped actor and encoder leave out the default test questions, so held-out accuracy is
/// measured on questions no shipped model has seen.
/// </summary>
public static class ArithmeticSuite
{
    public const string Name = "arithmetic";

    /// <summary>The seed the shipped models' corpora exclude the test questions of.</summary>
    public const int DefaultSeed = 42;

    /// <summary>The suite: for each family, <paramref name="train"/> and <paramref name="test"/> distinct questions.</summary>
    public static ReasoningSuite Create(int train, int test, int seed = DefaultSeed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(train);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(test);
        if (train + test > ReservedQuestions)
            throw new ArgumentOutOfRangeException(nameof(train), $"train + test is at most {ReservedQuestions} questions per family (the pre-training corpora leave out that many).");
        var datasets = ArithmeticFamily.All.Select(family =>
        {
            var problems = Unique(family, Stream(seed, family, "split"), train + test, []);
            return new ReasoningDataset(family.Name,
                [.. problems.Take(train).Select(p => p.ToRecord())], [.. problems.Skip(train).Select(p => p.ToRecord())]);
        }).ToList();
        return new ReasoningSuite(Name, datasets, ReasoningPrompt.WorkedSolution);
    }

    /// <summary>
    /// <paramref name="perFamily"/> problems of every family for pre-training, interleaved across families.
    /// <paramref name="purpose"/> names an independent stream (e.g. <c>actor</c>, <c>encoder</c>). None of them is among
    /// the first <see cref="ReservedQuestions"/> questions of the default suite's stream, which hold its train and test
    /// splits for any split size up to that.
    /// </summary>
    public static IReadOnlyList<ArithmeticFamily.Problem> Corpus(string purpose, int perFamily)
    {
        var perFamilyProblems = ArithmeticFamily.All.Select(family =>
        {
            var reserved = Unique(family, Stream(DefaultSeed, family, "split"), ReservedQuestions, []).Select(p => p.Question).ToHashSet(StringComparer.Ordinal);
            return Unique(family, Stream(DefaultSeed, family, purpose), perFamily, reserved);
        }).ToList();
        return [.. Enumerable.Range(0, perFamily).SelectMany(i => perFamilyProblems.Select(p => p[i]))];
    }

    /// <summary>How many questions per family of the default suite the pre-training corpora leave out.</summary>
    public const int ReservedQuestions = 2000;

    /// <summary>
    /// Writes the suite in GSM8K's JSON Lines format (<c>question</c>, <c>answer</c> = worked solution + <c>#### N</c>):
    /// <c>&lt;family&gt;/train.jsonl</c> and <c>&lt;family&gt;/test.jsonl</c> under <paramref name="folder"/>.
    /// </summary>
    public static void Write(ReasoningSuite suite, string folder)
    {
        foreach (var dataset in suite.Datasets)
        {
            var dir = Path.Combine(folder, dataset.Name);
            Directory.CreateDirectory(dir);
            WriteGsm8k(Path.Combine(dir, "train.jsonl"), dataset.Train);
            WriteGsm8k(Path.Combine(dir, "test.jsonl"), dataset.Test);
        }
    }

    /// <summary>Plain text for <c>confer pretrain --text</c>: one <c>Question: …\nAnswer: …</c> document per blank-line-separated block.</summary>
    public static void WriteCorpus(IEnumerable<ArithmeticFamily.Problem> problems, string path)
    {
        var text = new StringBuilder();
        foreach (var p in problems) text.Append("Question: ").Append(p.Question).Append("\nAnswer: ").Append(p.Solution).Append("\n\n");
        AtomicFile.WriteAllText(path, text.ToString());
    }

    private static void WriteGsm8k(string path, IEnumerable<QaRecord> records)
    {
        var lines = records.Select(r => JsonSerializer.Serialize(new { question = r.Question, answer = $"{r.Rationale}\n#### {r.Answer}" }) + "\n");
        AtomicFile.WriteAllText(path, string.Concat(lines));
    }

    private static SplitMix64 Stream(int seed, ArithmeticFamily family, string purpose) =>
        new(SeedMix.Mix(seed, 0, $"arithmetic/{family.Name}/{purpose}"));

    /// <summary>Draws until <paramref name="count"/> problems with distinct questions not in <paramref name="excluded"/> are found.</summary>
    private static List<ArithmeticFamily.Problem> Unique(ArithmeticFamily family, SplitMix64 random, int count, HashSet<string> excluded)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<ArithmeticFamily.Problem>(count);
        for (var draws = 0; problems.Count < count; draws++)
        {
            if (draws > 100 * (count + 10))
                throw new InvalidOperationException($"arithmetic family '{family.Name}' cannot produce {count} distinct questions.");
            var p = family.Make(random);
            if (!excluded.Contains(p.Question) && seen.Add(p.Question)) problems.Add(p);
        }
        return problems;
    }
}
