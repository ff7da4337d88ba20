using Confer.Configuration;
using Confer.Data;
using Confer.Federation;

namespace Confer.Reasoning.Suites;

/// <summary>
/// The FedCoT paper's five medical QA data sets, one per client, read in their published formats from a data root laid
/// out as the project's <c>../shared/data</c> (never copied): PubMedQA (PQA-L; the official 500 test PMIDs as test,
/// the other 500 as train; questions without their abstracts, as MIRAGE's PubMedQA*), BioASQ yes/no (Task B golden
/// files), MMLU-Med (the six medical subjects; dev + val as train, test as test), MedMCQA (dev) and MedQA-US (4-option
/// test). Sets without a train split are split with a seeded shuffle; each side is capped at the requested size.
/// </summary>
public static class MedicalSuite
{
    public const string Name = "medical";

    private static readonly string[] MmluSubjects = ["anatomy", "clinical_knowledge", "college_biology", "college_medicine", "medical_genetics", "professional_medicine"];

    public static ReasoningSuite Load(string dataRoot, int train, int test, int seed)
    {
        if (!Directory.Exists(dataRoot)) throw new ConfigException($"data_root: folder '{dataRoot}' does not exist (the medical suite reads its data sets from there).");
        string P(params string[] parts) => Path.Combine([dataRoot, .. parts]);

        var pubmedTest = QaDatasets.LoadPubMedQa(P("pubmedqa", "mirage", "data", "test_set.json"));
        var testQuestions = pubmedTest.Select(r => r.Question).ToHashSet(StringComparer.Ordinal);
        var pubmedTrain = QaDatasets.LoadPubMedQa(P("pubmedqa", "ori_pqal.json")).Where(r => !testQuestions.Contains(r.Question)).ToList();

        var bioasqFiles = Directory.Exists(P("bioasq"))
            ? Directory.GetFiles(P("bioasq"), "*_golden.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList()
            : throw new ConfigException($"data_root: '{P("bioasq")}' does not exist.");
        var bioasq = bioasqFiles.SelectMany(QaDatasets.LoadBioAsqYesNo).ToList();

        List<QaRecord> Mmlu(string split) => [.. MmluSubjects.SelectMany(s => QaDatasets.LoadMmlu(P("mmlu-med", "data", split, $"{s}_{split}.csv")))];
        var medmcqa = QaDatasets.LoadMedMcqa(P("medmcqa", "data", "dev.json"));
        var medqa = QaDatasets.LoadMedQa(P("medqa", "data_clean", "questions", "US", "4_options", "phrases_no_exclude_test.jsonl"));

        ReasoningDataset Native(string name, IReadOnlyList<QaRecord> trainPool, IReadOnlyList<QaRecord> testPool) =>
            new(name, Take(trainPool, train, seed, name + "/train"), Take(testPool, test, seed, name + "/test"));

        ReasoningDataset Split(string name, IReadOnlyList<QaRecord> pool)
        {
            var order = Shuffled(pool.Count, seed, name);
            var testCount = Math.Min(test, pool.Count / 2);
            return new ReasoningDataset(name, [.. order.Skip(testCount).Take(train).Select(i => pool[i])], [.. order.Take(testCount).Select(i => pool[i])]);
        }

        return new ReasoningSuite(Name,
        [
            Native("pubmedqa", pubmedTrain, pubmedTest),
            Split("bioasq", bioasq),
            Native("mmlu-med", [.. Mmlu("dev"), .. Mmlu("val")], Mmlu("test")),
            Split("medmcqa", medmcqa),
            Split("medqa", medqa),
        ], ReasoningPrompt.ChainOfThought);
    }

    private static List<QaRecord> Take(IReadOnlyList<QaRecord> pool, int count, int seed, string stream) =>
        [.. Shuffled(pool.Count, seed, stream).Take(count).Select(i => pool[i])];

    private static int[] Shuffled(int count, int seed, string stream)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new SplitMix64(SeedMix.Mix(seed, 0, "medical/" + stream)).Shuffle(order);
        return order;
    }
}
