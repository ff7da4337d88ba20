using Confer.Configuration;
using Confer.Federation.Deployment;
using Confer.Reasoning.FedCot;

namespace Confer.Tests.Reasoning;

/// <summary>A FedCoT site's own inputs are refused with the key and the fix before it loads an actor or trains anything.</summary>
public class DiscriminatorSiteTests
{
    private static string RunYaml => ConfigBinder.ToYaml(new FedCotSettings());

    [Fact]
    public void A_question_file_that_is_not_in_its_format_is_refused_naming_the_key_and_format()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("train.jsonl"), "{\"question\": \"How many?\", \"answer\": \"no final number\"}\n");
        var site = new DiscriminatorSite(new FedCotSiteSettings());
        var e = Assert.Throws<ConfigException>(() =>
            site.Prepare("site-a", RunYaml, new ClientSettings { Data = dir.File("train.jsonl") }, _ => { }, TestContext.Current.CancellationToken));
        Assert.Contains("data:", e.Message, StringComparison.Ordinal);
        Assert.Contains("gsm8k", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_format_and_a_missing_test_file_are_refused()
    {
        var format = Assert.Throws<ConfigException>(() => new FedCotSiteSettings { Format = "gsm9k" }.Validate());
        Assert.Contains("medqa", format.Message, StringComparison.Ordinal);
        var test = Assert.Throws<ConfigException>(() => new FedCotSiteSettings { TestData = "/nonexistent/test.jsonl" }.Validate());
        Assert.Contains("test_data", test.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_compute_budget_the_site_cannot_honour_is_refused_not_ignored()
    {
        var site = new DiscriminatorSite(new FedCotSiteSettings());
        var e = Assert.Throws<ConfigException>(() =>
            site.Prepare("site-a", RunYaml, new ClientSettings { MaxLocalSteps = 3 }, _ => { }, TestContext.Current.CancellationToken));
        Assert.Contains("max_local_steps", e.Message, StringComparison.Ordinal);
    }
}
