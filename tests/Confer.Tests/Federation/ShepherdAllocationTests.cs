using Confer.Federation.Allocation;

namespace Confer.Tests.Federation;

/// <summary>
/// The allocators against an independent re-implementation of Shepherd's <c>client_data_allocation.py</c>
/// (algorithms.md §1), written here from the spec with its own randomness, on the real Dolly categories. The two
/// use different random streams, so they are compared through statistics averaged over many seeds; the capped and
/// uncapped Dirichlet methods differ by about seven standard errors of those averages.
/// </summary>
public sealed class ShepherdAllocationTests
{
    private const int Clients = 100;
    private const int MinSize = 40;
    private static readonly int[] Seeds = Enumerable.Range(1, 20).ToArray();

    [Theory]
    [InlineData("dirichlet", true, 0.44)]
    [InlineData("dirichlet-uncapped", false, 0.54)]
    public void Dirichlet_matches_Shepherds_procedure_in_size_spread_and_category_skew(string method, bool capped, double specCv)
    {
        var categories = DollyCategories.All;
        var allocator = AllocatorRegistry.Create(method, new AllocationOptions { Alpha = 0.5, MinClientSize = MinSize });
        var ours = Seeds.Select(seed => allocator.Allocate(categories, Clients, seed).Clients).ToList();
        var reference = Seeds.Select(seed => ShepherdDirichlet(categories, capped, seed)).ToList();

        Assert.All(ours, clients => Assert.True(clients.Min(c => c.Count) >= MinSize));
        var (ourCv, referenceCv) = (ours.Average(SizeVariation), reference.Average(SizeVariation));
        Assert.True(Math.Abs(ourCv - referenceCv) < 0.05, $"CV of client sizes: ours {ourCv:F3}, Shepherd's {referenceCv:F3}");
        Assert.True(Math.Abs(ourCv - specCv) < 0.05, $"CV of client sizes: ours {ourCv:F3}, algorithms.md {specCv}");
        var (ourSkew, referenceSkew) = (ours.Average(c => DominantShare(c, categories)), reference.Average(c => DominantShare(c, categories)));
        Assert.True(Math.Abs(ourSkew - referenceSkew) < 0.015, $"mean dominant-category share: ours {ourSkew:F3}, Shepherd's {referenceSkew:F3}");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    public void Shards_are_Shepherds_two_contiguous_category_sorted_shards_per_client(int clients)
    {
        var categories = DollyCategories.All;
        // Shepherd: records sorted by category, np.array_split into 2n shards (the first ones one longer), shuffled,
        // dealt out in pairs.
        var sorted = Enumerable.Range(0, categories.Count).OrderBy(i => categories[i] ?? "", StringComparer.Ordinal).ThenBy(i => i).ToArray();
        var shardOf = new int[categories.Count];
        var shardCount = 2 * clients;
        for (int s = 0, start = 0; s < shardCount; s++)
        {
            var size = categories.Count / shardCount + (s < categories.Count % shardCount ? 1 : 0);
            for (var i = start; i < start + size; i++) shardOf[sorted[i]] = s;
            start += size;
        }
        var shardSizes = shardOf.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());

        foreach (var seed in new[] { 1, 2, 3 })
        {
            var allocation = AllocatorRegistry.Create("shards").Allocate(categories, clients, seed);
            var used = new HashSet<int>();
            foreach (var client in allocation.Clients)
            {
                var shards = client.Select(i => shardOf[i]).Distinct().ToList();
                Assert.Equal(2, shards.Count);
                Assert.Equal(shards.Sum(s => shardSizes[s]), client.Count);
                Assert.All(shards, s => Assert.True(used.Add(s), $"shard {s} dealt twice"));
            }
            Assert.Equal(shardCount, used.Count);
        }
    }

    /// <summary>
    /// Shepherd's <c>diff_quantity=1</c>: per category (sorted), shuffle its records, draw p ~ Dir(0.5·1_n), with the
    /// cap zero the share of every client already holding ≥ N/n records and renormalise, cut at
    /// ⌊cumsum(p)·len⌋; redraw everything until every client has ≥ 40 records. Dir(0.5) is drawn as normalised
    /// squared standard normals (Gamma(½) = Z²/2), from System.Random.
    /// </summary>
    private static List<int>[] ShepherdDirichlet(IReadOnlyList<string?> categories, bool cap, int seed)
    {
        var random = new Random(seed);
        var byCategory = Enumerable.Range(0, categories.Count).GroupBy(i => categories[i] ?? "").OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        double total = categories.Count;
        while (true)
        {
            var parts = Enumerable.Range(0, Clients).Select(_ => new List<int>()).ToArray();
            foreach (var group in byCategory)
            {
                var records = group.ToArray();
                random.Shuffle(records);
                var p = Enumerable.Range(0, Clients).Select(_ => Math.Pow(StandardNormal(random), 2)).ToArray();
                if (cap)
                    for (var j = 0; j < Clients; j++)
                        if (parts[j].Count >= total / Clients) p[j] = 0;
                var sum = p.Sum();
                double cumulative = 0;
                var start = 0;
                for (var j = 0; j < Clients; j++)
                {
                    cumulative += p[j] / sum;
                    var end = j == Clients - 1 ? records.Length : (int)(cumulative * records.Length);
                    parts[j].AddRange(records[start..end]);
                    start = end;
                }
            }
            if (parts.Min(x => x.Count) >= MinSize) return parts;
        }
    }

    private static double StandardNormal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Coefficient of variation of the client sizes (population standard deviation over the mean).</summary>
    private static double SizeVariation<T>(IReadOnlyList<T> clients) where T : IReadOnlyCollection<int>
    {
        var sizes = clients.Select(c => (double)c.Count).ToArray();
        var mean = sizes.Average();
        return Math.Sqrt(sizes.Average(s => (s - mean) * (s - mean))) / mean;
    }

    /// <summary>Mean over clients of the share of their largest category.</summary>
    private static double DominantShare<T>(IReadOnlyList<T> clients, IReadOnlyList<string?> categories) where T : IReadOnlyCollection<int> =>
        clients.Average(c => c.GroupBy(i => categories[i]).Max(g => g.Count()) / (double)c.Count);
}
