using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Federation.Reporting;
using Confer.Federation.Simulation;
using Confer.Tests.Data;
using Confer.Tokenizers;

namespace Confer.Tests.Federation.Simulation;

/// <summary>How a run's data keys shape the split and what allocation.json tells about it.</summary>
public sealed class FederatedDataTests
{
    private static readonly Lazy<TextTokenizer> Tokenizer = new(() => TextTokenizer.FromPretrained(Path.Combine(DataPaths.RepoRoot, "models", "confer-base")));

    /// <summary>60 short records, 10 in each of the categories a…f.</summary>
    private static TempFile Records() => new(new JsonArray([.. Enumerable.Range(0, 60).Select(i => (JsonNode)new JsonObject
    {
        ["instruction"] = $"Say {i}.", ["context"] = "", ["response"] = $"{i}", ["category"] = ((char)('a' + i / 10)).ToString(),
    })]).ToJsonString());

    private static FederatedData Load(string data, int maxClientRecords) => FederatedData.Load(new SimulationSettings
    {
        Data = data, TestData = data, Allocation = "shards", Clients = 2, ShardsPerClient = 3,
        MaxClientRecords = maxClientRecords, LocalTestFraction = 0,
    }, Tokenizer.Value);

    [Fact]
    public void Shards_per_client_sets_how_many_category_shards_each_client_gets()
    {
        using var records = Records();
        // 2 clients × 3 shards of 10 category-sorted records: each client holds three whole categories.
        var report = Load(records.Path, maxClientRecords: 0).Report;
        Assert.All(report.Clients, c => Assert.Equal(Enumerable.Repeat(10, 3), c.Categories.Values));
    }

    [Fact]
    public void A_size_cap_is_recorded_per_client_and_absent_when_it_cuts_nothing()
    {
        using var records = Records();
        var json = Load(records.Path, maxClientRecords: 12).Report.ToJson();
        using var capped = JsonDocument.Parse(json);
        Assert.All(capped.RootElement.GetProperty("clients").EnumerateArray(), c =>
        {
            Assert.Equal(12, c.GetProperty("size").GetInt32());
            Assert.Equal(30, c.GetProperty("capped_from").GetInt32());
        });
        // What the console and report.html say about it, read back from the run folder's allocation.json.
        using var run = new TempDir();
        File.WriteAllText(run.File(AllocationInfo.FileName), json);
        Assert.StartsWith("max_client_records capped 2 of 2 clients: they train on 24 of their 60 records", AllocationInfo.Read(run.Path)!.CapNote());
        using var uncapped = JsonDocument.Parse(Load(records.Path, maxClientRecords: 30).Report.ToJson());
        Assert.All(uncapped.RootElement.GetProperty("clients").EnumerateArray(), c => Assert.False(c.TryGetProperty("capped_from", out _)));
    }
}
