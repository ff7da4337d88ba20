using Confer.Federation.Reporting;

namespace Confer.Tests.Reporting;

/// <summary>Reading metrics.jsonl: resumed runs, torn final lines, malformed lines, unknown kinds; client ordering and units.</summary>
public sealed class RunMetricsTests
{
    [Fact]
    public void Repeated_rounds_keep_the_later_line_and_unknown_kinds_are_skipped()
    {
        using var run = new TempRunFolder()
            .Metric(new { kind = "round", round = 2, global_loss = 9.0 })
            .Metric(new { kind = "round", round = 1, global_loss = 2.5, clients = new[] { "client_1" }, bytes_up = 10 })
            .Metric(new { kind = "future_event", value = 1 })
            .Metric(new { kind = "round", round = 2, global_loss = 2.25 });

        var m = RunMetrics.Read(run.Path);

        Assert.Equal([1, 2], m.Rounds.Select(r => r.Round));
        Assert.Equal(2.25, m.FinalRound!.GlobalLoss);
        Assert.Equal(["client_1"], m.Rounds[0].Clients!);
        Assert.Null(m.Rounds[1].TrainLoss);
    }

    [Fact]
    public void A_torn_final_line_is_skipped_but_a_bad_line_in_the_middle_names_file_and_line()
    {
        using var run = new TempRunFolder().Metric(new { kind = "round", round = 1, global_loss = 2.5 });
        File.AppendAllText(run.File("metrics.jsonl"), "{\"kind\":\"round\",\"rou");
        Assert.Single(RunMetrics.Read(run.Path).Rounds);

        File.AppendAllText(run.File("metrics.jsonl"), "\n" + "{\"kind\":\"round\",\"round\":3}\n");
        var ex = Assert.Throws<InvalidDataException>(() => RunMetrics.Read(run.Path));
        Assert.Contains("metrics.jsonl line 2", ex.Message);
    }

    [Fact]
    public void Missing_required_fields_and_wrong_types_are_named()
    {
        using var run = new TempRunFolder().Metric(new { kind = "client_eval", round = 1, local_loss = 2.0 });
        Assert.Contains("line 1: missing field 'client'", Assert.Throws<InvalidDataException>(() => RunMetrics.Read(run.Path)).Message);

        using var typed = new TempRunFolder().Metric(new { kind = "round", round = 1, global_loss = "high" });
        Assert.Contains("line 1", Assert.Throws<InvalidDataException>(() => RunMetrics.Read(typed.Path)).Message);
    }

    [Fact]
    public void Client_ids_sort_by_their_number()
    {
        string[] ids = ["client_10", "client_2", "client_1", "server", "client_02"];
        Assert.Equal(["client_1", "client_02", "client_2", "client_10", "server"], ids.Order(ClientIdComparer.Instance));
    }

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(999L, "999 B")]
    [InlineData(1500L, "1.50 kB")]
    [InlineData(3_703_701L, "3.70 MB")]
    [InlineData(12_345_678_901L, "12.35 GB")]
    public void Bytes_use_decimal_units(long bytes, string expected) => Assert.Equal(expected, ReportFormat.Bytes(bytes));
}
