using Confer.Data;

namespace Confer.Tests.Data;

public class QaDatasetsTests
{
    [Fact]
    public void Gsm8kGoldIsTheNumberAfterTheMarkerWithoutSeparators()
    {
        var records = QaDatasets.LoadGsm8k(SharedDataPath.Of("gsm8k", "test.jsonl"));
        Assert.Equal(1319, records.Count);
        Assert.StartsWith("Janet’s ducks lay 16 eggs", records[0].Question);
        Assert.Equal("18", records[0].Answer);
        Assert.Null(records[0].Options);
        Assert.EndsWith("every day at the farmer’s market.", records[0].Rationale);
        Assert.Contains(records, r => r.Answer == "2125"); // "#### 2,125" in the file
        Assert.All(records, r => Assert.DoesNotContain(",", r.Answer));
    }

    [Fact]
    public void PubMedQaKeepsContextsAndDecisions()
    {
        var all = QaDatasets.LoadPubMedQa(SharedDataPath.Of("pubmedqa", "ori_pqal.json"));
        Assert.Equal(1000, all.Count);
        Assert.Equal([("maybe", 110), ("no", 338), ("yes", 552)],
            all.GroupBy(r => r.Answer).OrderBy(g => g.Key).Select(g => (g.Key, g.Count())));
        Assert.StartsWith("Do mitochondria play a role", all[0].Question);
        Assert.StartsWith("Programmed cell death (PCD)", all[0].Context);
        Assert.Equal(500, QaDatasets.LoadPubMedQa(SharedDataPath.Of("pubmedqa", "mirage", "data", "test_set.json")).Count);
    }

    [Fact]
    public void MedQaAndMedMcqaAnswersAreOptionLetters()
    {
        var medqa = QaDatasets.LoadMedQa(SharedDataPath.Of("medqa", "data_clean", "questions", "US", "4_options", "phrases_no_exclude_test.jsonl"));
        Assert.Equal(1273, medqa.Count);
        Assert.Equal("B", medqa[0].Answer);
        Assert.Equal("Tell the attending that he cannot fail to disclose this mistake", medqa[0].Options![1]);

        var medmcqa = QaDatasets.LoadMedMcqa(SharedDataPath.Of("medmcqa", "data", "dev.json"));
        Assert.Equal(4183, medmcqa.Count);
        Assert.Equal("A", medmcqa[0].Answer); // cop 1 is the first option
        Assert.Equal("Impulse through myelinated fibers is slower than non-myelinated fibers", medmcqa[0].Options![0]);
        Assert.All(medmcqa, r => Assert.Contains(r.Answer, new[] { "A", "B", "C", "D" }));
    }

    [Fact]
    public void MmluCsvHandlesQuotedFieldsAndEmbeddedNewlines()
    {
        var folder = SharedDataPath.Of("mmlu-med", "data", "test");
        var anatomy = QaDatasets.LoadMmlu(Path.Combine(folder, "anatomy_test.csv"));
        Assert.Equal(135, anatomy.Count);
        Assert.Equal("A \"dished face\" profile is often associated with", anatomy[1].Question);
        Assert.Equal("B", anatomy[1].Answer);
        Assert.Equal(4, anatomy[1].Options!.Length);
        var total = Directory.GetFiles(folder, "*.csv").Sum(f => QaDatasets.LoadMmlu(f).Count);
        Assert.Equal(1089, total); // more rows than lines-per-file suggest: some fields span lines
    }

    [Fact]
    public void MmluCsvReadsAStrayQuoteAsPythonsCsvModuleDoes()
    {
        // college_medicine_val.csv row 5 is an unquoted field ending in a stray quote. Python's csv module (the reader
        // behind every MMLU loader) keeps it as a literal character; the values below are what csv.reader returns.
        var folder = SharedDataPath.Of("mmlu-med", "data", "val");
        var medicine = QaDatasets.LoadMmlu(Path.Combine(folder, "college_medicine_val.csv"));
        Assert.Equal(22, medicine.Count);
        Assert.Equal("Which of the following would be the most accurate definition of Nietzsche’s Will to Truth?\"", medicine[5].Question);
        Assert.Equal(["An intrinsic desire to know the truth.", "Moral drive to act toward what is good.", "A subset of our ego that acts towards what is right.", "Our desire for love."],
            medicine[5].Options!);
        Assert.Equal("A", medicine[5].Answer);
        Assert.Equal(123, Directory.GetFiles(folder, "*.csv").Sum(f => QaDatasets.LoadMmlu(f).Count));
        Assert.Equal(30, Directory.GetFiles(SharedDataPath.Of("mmlu-med", "data", "dev"), "*.csv").Sum(f => QaDatasets.LoadMmlu(f).Count));
    }

    [Fact]
    public void BadQaRecordsNameFileRecordAndField()
    {
        using var medmcqa = new TempFile("""{"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 0}""", ".json");
        var e = Assert.Throws<InvalidDataException>(() => QaDatasets.LoadMedMcqa(medmcqa.Path));
        Assert.Contains("record 0", e.Message);
        Assert.Contains("'cop'", e.Message);

        using var gsm = new TempFile("""{"question": "q", "answer": "no marker 5"}""", ".jsonl");
        Assert.Contains("'####'", Assert.Throws<InvalidDataException>(() => QaDatasets.LoadGsm8k(gsm.Path)).Message);
    }

    [Fact]
    public void FormatWithOptionsListsLetteredOptions()
    {
        var record = new QaRecord("Which?", ["x", "y"], "B");
        Assert.Equal("Which?\nA. x\nB. y", record.FormatWithOptions());
    }
}
