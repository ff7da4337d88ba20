using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Confer.Data;
using Confer.Federation.Allocation;
using Confer.Federation.Reporting;
using Confer.Tests.Data;

namespace Confer.Tests.Reporting;

/// <summary>The run report: what the HTML page shows, the PNG plots, escaping of run-file text and tolerance of missing files.</summary>
public sealed class RunReportTests
{
    private static readonly string[] Clients = ["client_0", "client_1", "client_2"];
    private static readonly string[] PlotTitles =
        ["Global test loss per round", "Federated vs local-only vs centralized", "Communication per round", "Client data"];

    [Fact]
    public void Full_run_gives_summary_plots_tables_and_pngs()
    {
        using var run = new TempRunFolder().Run(rounds: 3, clients: 3)
            .Rounds(Clients, 2.71, 2.43, 2.045678).ClientEvals(3, Clients).Baselines(Clients, centralized: 2.1).Allocation(Clients).Traffic(3, Clients);

        var path = RunReport.Write(run.Path);

        Assert.Equal(run.File("report.html"), path);
        var html = File.ReadAllText(path);
        Assert.Contains("2.0457 (round 3)", html);                       // final global loss, formatted
        Assert.Contains(Math.Exp(2.045678).ToString("F2", System.Globalization.CultureInfo.InvariantCulture), html);
        Assert.Contains("3.70 MB (3,703,701 B)", html);                  // 3 × 1,234,567 bytes up
        Assert.Contains("7.04 MB (7,037,034 B)", html);                  // 3 × 2,345,678 bytes down
        Assert.Contains("7m 30s", html);                                 // wall time from run.json
        Assert.Contains("fedavg", html);
        Assert.Contains("2.1000", html);                                 // centralized baseline
        Assert.Contains("2.6500", html);                                 // mean local-only global loss (2.60, 2.65, 2.70)
        Assert.Contains("Per-client local test loss, round 3", html);
        Assert.Contains("2.2200", html);                                 // client_2's federated local loss
        foreach (var client in Clients) Assert.True(Regex.Matches(html, $"<td>{client}</td>").Count >= 4, client);
        foreach (var title in PlotTitles) Assert.Contains($"<h2>{title}</h2>", html);
        Assert.Equal(4, Regex.Matches(html, "<svg ").Count);
        Assert.DoesNotContain("<?xml", html);
        Assert.DoesNotContain("<script", html);

        // Each inline SVG's clip paths are its own: no id is defined twice in the page, and every reference resolves.
        var ids = Regex.Matches(html, "\\bid=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(Regex.Matches(html, "url\\(#([^)]+)\\)"), m => Assert.Contains(m.Groups[1].Value, ids));

        var pngs = Directory.GetFiles(Path.Combine(run.Path, "plots"), "*.png").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["client_data.png", "communication.png", "federated_vs_baselines.png", "global_loss.png"], pngs);
        foreach (var png in pngs) AssertPng(Path.Combine(run.Path, "plots", png!), minWidth: 800, height: 450);
    }

    [Fact]
    public void The_page_opens_with_the_verdict_and_settings_and_lists_every_client()
    {
        // Four clients in the allocation, but only three ever selected: the fourth appears in the traffic table with zeros.
        string[] all = [.. Clients, "client_3"];
        using var run = new TempRunFolder().Run(rounds: 2, clients: 4)
            .Rounds(Clients, 2.5, 2.4).Baselines(Clients, centralized: 2.3).Allocation(all).Traffic(2, Clients);
        File.WriteAllText(run.File("config.yaml"), "strategy: fedavg\nrounds: 2\nlr: 0.002\nlora_r: 8\n");

        var html = File.ReadAllText(RunReport.Write(run.Path));

        // Federated 2.4000 against local-only mean (2.60 + 2.65 + 2.70) / 3 = 2.6500, centralized 2.3000, as on the console.
        var verdict = Regex.Match(html, "<p class=\"verdict\">(.*?)</p>").Groups[1].Value;
        Assert.Equal("Federated (fedavg) beats local-only on the global test set by 0.2500 nats/token (2.4000 vs 2.6500); " +
                     "centralized training on pooled data reaches 2.3000, 0.1000 nats/token lower.", verdict);
        Assert.True(html.IndexOf("class=\"verdict\"", StringComparison.Ordinal) < html.IndexOf("<h2>", StringComparison.Ordinal), "the verdict comes first");
        Assert.Contains("every difference column is federated − other", html);
        Assert.Contains("<td>lr</td><td>0.002</td>", html);
        Assert.Contains("<td>lora_r</td><td>8</td>", html);
        Assert.Contains("federated − local-only (global)", html);
        Assert.Contains("<td class=\"n\">-0.2500</td>", html);        // mean row: 2.4000 − 2.6500, federated better
        Assert.Matches("<td>client_3</td><td class=\"n\">0</td><td class=\"n\">0</td><td class=\"n\">0 B</td>", html);
    }

    [Fact]
    public void Text_from_run_files_is_html_escaped()
    {
        string[] clients = ["client_0", "<script>alert(1)</script>", "a&b\"c"];
        using var run = new TempRunFolder().Run(rounds: 1, clients: 3)
            .Rounds(clients, 2.5).ClientEvals(1, clients).Baselines(clients, 2.2).Allocation(clients).Traffic(1, clients);

        var html = File.ReadAllText(RunReport.Write(run.Path));

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>", html);
        Assert.Contains("<td>a&amp;b&quot;c</td>", html);
        Assert.Equal(4, Regex.Matches(html, "<svg ").Count);
    }

    [Fact]
    public void Missing_optional_files_still_give_a_report_that_says_what_is_missing()
    {
        using var run = new TempRunFolder().Run(rounds: 3, clients: 3, finished: false).Rounds(Clients, 2.7, 2.5);

        var html = File.ReadAllText(RunReport.Write(run.Path));

        Assert.Contains("2.5000 (round 2)", html);
        Assert.Contains("2 of 3 completed", html);
        Assert.Contains("not finished", html);
        Assert.Contains("No baselines in metrics.jsonl", html);
        Assert.Contains("No allocation.json in the run folder.", html);
        Assert.DoesNotContain("Per-client local test loss", html);
        Assert.Equal(2, Regex.Matches(html, "<svg ").Count);
        Assert.Equal(["communication.png", "global_loss.png"],
            Directory.GetFiles(Path.Combine(run.Path, "plots")).Select(Path.GetFileName).Order().ToList());
    }

    [Fact]
    public void Run_json_alone_gives_a_report_without_plots()
    {
        using var run = new TempRunFolder().Run(rounds: 3, clients: 3, finished: false);

        var html = File.ReadAllText(RunReport.Write(run.Path));

        Assert.Contains("No round has been evaluated yet.", html);
        Assert.DoesNotContain("<svg", html);
    }

    [Fact]
    public void Allocation_json_as_AllocationReport_writes_it_is_read_with_client_names()
    {
        var categories = InstructionRecordReader.LoadAll([DataPaths.DollyShard("local_training_0.json")]).Select(r => r.Category).ToList();
        var report = AllocatorRegistry.Create("dirichlet", null).Allocate(categories, 3, 42).Report(categories);
        using var run = new TempRunFolder().Run(rounds: 1, clients: 3).Rounds(Clients, 2.5);
        File.WriteAllText(run.File("allocation.json"), report.ToJson());

        var html = File.ReadAllText(RunReport.Write(run.Path));

        foreach (var share in report.Clients)
            Assert.Matches($"<tr><td>client_{share.Client}</td>.*<td class=\"n\">{share.Size:N0}</td>", html);
        Assert.Contains(categories.GroupBy(c => c).MaxBy(g => g.Count())!.Key!, html);
        AssertPng(run.File("plots/client_data.png"), minWidth: 800, height: 450);
    }

    [Fact]
    public void A_folder_without_run_json_is_refused_with_the_fix()
    {
        using var run = new TempRunFolder();
        var ex = Assert.Throws<FileNotFoundException>(() => RunReport.Write(run.Path));
        Assert.Contains("run.json", ex.Message);
        Assert.Contains("confer simulate", ex.Message);
        Assert.False(File.Exists(run.File("report.html")));
    }

    private static void AssertPng(string path, int minWidth, int height)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 1000, $"{path}: {bytes.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], bytes[..8]);
        Assert.Equal("IHDR"u8.ToArray(), bytes[12..16]);
        Assert.True(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)) >= minWidth);
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }
}
