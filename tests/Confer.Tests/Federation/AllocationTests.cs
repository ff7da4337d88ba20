using System.Text.Json;
using Confer.Federation.Allocation;

namespace Confer.Tests.Federation;

/// <summary>Client data allocation on the real Dolly-15k categories: partitions, reproducibility and skew.</summary>
public sealed class AllocationTests
{
    public static TheoryData<string> SeededMethods => new("iid", "dirichlet", "dirichlet-uncapped", "shards", "quantity-skew");

    private static DataAllocation Allocate(string method, int seed = 42, int clients = 10, AllocationOptions? options = null) =>
        AllocatorRegistry.Create(method, options).Allocate(DollyCategories.All, clients, seed);

    [Theory]
    [MemberData(nameof(SeededMethods))]
    public void Every_record_goes_to_exactly_one_client_and_seeds_reproduce(string method)
    {
        var allocation = Allocate(method);
        var all = allocation.Clients.SelectMany(c => c).ToList();
        Assert.Equal(DollyCategories.All.Count, all.Count);
        Assert.Equal(Enumerable.Range(0, all.Count), all.Order());
        Assert.All(allocation.Clients, c => Assert.True(c.Count > 0 && c.SequenceEqual(c.Order())));

        Assert.Equal(allocation.Clients, Allocate(method).Clients);
        Assert.NotEqual(allocation.Clients, Allocate(method, seed: 43).Clients);
    }

    [Fact]
    public void Iid_sizes_differ_by_at_most_one()
    {
        var sizes = Allocate("iid").Clients.Select(c => c.Count).ToList();
        Assert.True(sizes.Max() - sizes.Min() <= 1);
    }

    [Fact]
    public void Dirichlet_with_a_huge_alpha_approaches_the_global_category_mix()
    {
        var categories = DollyCategories.All;
        var global = categories.GroupBy(c => c).ToDictionary(g => g.Key!, g => g.Count() / (double)categories.Count);
        foreach (var client in Allocate("dirichlet", options: new AllocationOptions { Alpha = 1000 }).Clients)
            foreach (var (category, share) in global)
                Assert.True(Math.Abs(client.Count(i => categories[i] == category) / (double)client.Count - share) < 0.02, category);
    }

    [Fact]
    public void Dirichlet_with_a_small_alpha_skews_categories_and_honours_the_minimum()
    {
        var report = Allocate("dirichlet", options: new AllocationOptions { Alpha = 0.5, MinClientSize = 40 }).Report(DollyCategories.All);
        Assert.All(report.Clients, c => Assert.True(c.Size >= 40));
        // With α = 0.5 a client's largest category is far above its share under IID (≈ 25%, Dolly's open_qa).
        static double Dominant(AllocationReport r) => r.Clients.Average(c => c.Categories.Values.Max() / (double)c.Size);
        Assert.True(Dominant(report) > Dominant(Allocate("iid").Report(DollyCategories.All)) + 0.1);
    }

    [Fact]
    public void Shards_give_each_client_few_categories_and_similar_sizes()
    {
        var report = Allocate("shards").Report(DollyCategories.All);
        var counts = report.Clients.Select(c => c.Categories.Count).ToList();
        Assert.True(counts.Max() <= 4, string.Join(",", counts));
        Assert.True(counts.Average() <= 3, string.Join(",", counts));
        Assert.True(report.Clients.Max(c => c.Size) - report.Clients.Min(c => c.Size) <= 2);
        Assert.All(Allocate("iid").Report(DollyCategories.All).Clients, c => Assert.Equal(8, c.Categories.Count));
    }

    [Fact]
    public void Quantity_skew_gives_very_different_sizes_above_the_minimum()
    {
        var sizes = Allocate("quantity-skew", options: new AllocationOptions { Alpha = 0.5, MinClientSize = 40 }).Clients.Select(c => c.Count).ToList();
        Assert.True(sizes.Min() >= 40);
        Assert.True(sizes.Max() > 5 * sizes.Min(), string.Join(",", sizes));
        Assert.Throws<ArgumentException>(() => Allocate("quantity-skew", options: new AllocationOptions { MinClientSize = 2000 }));
    }

    [Fact]
    public void Natural_gives_one_group_per_client()
    {
        string?[] users = ["bob", "amy", "bob", "cy", "amy", "bob"];
        var natural = AllocatorRegistry.Create("natural");
        var allocation = natural.Allocate(users, 3, seed: 1);
        Assert.Equal([[1, 4], [0, 2, 5], [3]], allocation.Clients.Select(c => c.ToArray()));
        Assert.Contains("3 distinct values", Assert.Throws<ArgumentException>(() => natural.Allocate(users, 2, 1)).Message);
        Assert.Contains("record 1", Assert.Throws<ArgumentException>(() => natural.Allocate(["a", null, "b"], 2, 1)).Message);
    }

    [Fact]
    public void Report_serialises_sizes_and_category_histograms()
    {
        string?[] categories = ["x", "y", null, "x", "", "y"];
        var allocation = AllocatorRegistry.Create("shards", new AllocationOptions { ShardsPerClient = 1 }).Allocate(categories, 3, seed: 5);
        using var json = JsonDocument.Parse(allocation.Report(categories).ToJson());
        var root = json.RootElement;
        Assert.Equal("shards", root.GetProperty("method").GetString());
        Assert.Equal(6, root.GetProperty("total_records").GetInt32());
        var clients = root.GetProperty("clients").EnumerateArray().ToList();
        Assert.Equal(3, clients.Count);
        Assert.All(clients, c => Assert.Equal(c.GetProperty("size").GetInt32(), c.GetProperty("categories").EnumerateObject().Sum(p => p.Value.GetInt32())));
        // Sorted by category, "(none)" first: each shard of 2 holds one category.
        Assert.Contains(clients, c => c.GetProperty("categories").TryGetProperty("(none)", out var n) && n.GetInt32() == 2);
    }

    [Fact]
    public void Unknown_method_and_too_many_clients_are_clear_errors()
    {
        Assert.Contains("quantity-skew", Assert.Throws<ArgumentException>(() => AllocatorRegistry.Create("label-skew")).Message);
        Assert.Throws<ArgumentException>(() => AllocatorRegistry.Create("iid").Allocate(["a", "b"], 3, 1));
    }
}
