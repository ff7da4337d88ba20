using Confer.Data;

namespace Confer.Tests.Data;

public class InstructionRecordReaderTests
{
    [Fact]
    public void DollyGlobalTestLoadsAllRecordsWithCategories()
    {
        var records = InstructionRecordReader.Load(DataPaths.DollyShard("global_test.json"));
        Assert.Equal(80, records.Count);
        Assert.Equal(8, records.Select(r => r.Category).Distinct().Count());
        Assert.All(records.GroupBy(r => r.Category), g => Assert.Equal(10, g.Count()));
        var first = records[0];
        Assert.Equal("What are some common mushrooms used in cooking?", first.Instruction);
        Assert.Equal("", first.Input);
        Assert.StartsWith("Common mushrooms used in cooking include white button", first.Output);
        Assert.Equal("brainstorming", first.Category);
    }

    [Fact]
    public void AllShepherdShardsTogetherAreTheFullDolly15k()
    {
        var files = Enumerable.Range(0, 10).Select(i => DataPaths.DollyShard($"local_training_{i}.json"))
            .Append(DataPaths.DollyShard("global_test.json"));
        var records = InstructionRecordReader.LoadAll(files);
        Assert.Equal(15011, records.Count);
        Assert.Contains(records, r => r.Input.Length > 0); // closed_qa etc. carry a context
    }

    [Fact]
    public void AlpacaJsonLinesIsDetectedAndInputIsOptional()
    {
        using var file = new TempFile("""
            {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"}

            {"instruction": "Say hi.", "output": "Hi!"}
            """, ".jsonl");
        var records = InstructionRecordReader.Load(file.Path);
        Assert.Equal([new InstructionRecord("Add the numbers.", "2 and 3", "5", null), new InstructionRecord("Say hi.", "", "Hi!", null)], records);
    }

    [Fact]
    public void MissingRequiredFieldNamesFileRecordAndField()
    {
        using var file = new TempFile("""[{"instruction": "a", "context": "", "response": "b"}, {"instruction": "c", "context": "d"}]""");
        var e = Assert.Throws<InvalidDataException>(() => InstructionRecordReader.Load(file.Path));
        Assert.Contains(file.Path, e.Message);
        Assert.Contains("record 1", e.Message);
        Assert.Contains("'response'", e.Message);
    }

    [Fact]
    public void NonStringFieldAndUnknownSchemaAreRejected()
    {
        using var numeric = new TempFile("""[{"instruction": "a", "input": "", "output": 5}]""");
        Assert.Contains("'output' is a JSON Number", Assert.Throws<InvalidDataException>(() => InstructionRecordReader.Load(numeric.Path)).Message);

        using var unknown = new TempFile("""[{"question": "a", "answer": "b"}]""");
        Assert.Contains("cannot tell the schema", Assert.Throws<InvalidDataException>(() => InstructionRecordReader.Load(unknown.Path)).Message);

        using var broken = new TempFile("{\"instruction\": \"a\", \"output\": \"b\"}\n{not json}\n", ".jsonl");
        Assert.Contains("line 2", Assert.Throws<InvalidDataException>(() => InstructionRecordReader.Load(broken.Path)).Message);
    }
}
