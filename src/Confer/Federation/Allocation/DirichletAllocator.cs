namespace Confer.Federation.Allocation;

/// <summary>
/// <c>dirichlet</c> — label skew (Hsu et al. 2019; Shepherd's <c>diff_quantity=1</c>): for each category, shuffle its
/// records and cut them among clients in proportions q ~ Dir(α·1_N). Small α gives each client a few dominant
/// categories (and uneven sizes); large α approaches IID. Redraws the whole allocation until every client has at least
/// <c>minClientSize</c> records (Shepherd: 40), up to <see cref="MaxAttempts"/> times.
/// </summary>
internal sealed class DirichletAllocator(double alpha, int minClientSize) : IDataAllocator
{
    public const int MaxAttempts = 1000;

    public string Name => "dirichlet";

    public DataAllocation Allocate(IReadOnlyList<string?> categories, int clientCount, int seed)
    {
        AllocationMath.Check(categories, clientCount, Name);
        if (!(alpha > 0)) throw new ArgumentException($"dirichlet: Alpha must be > 0 (got {alpha}).");
        var groups = AllocationMath.ByCategory(categories);
        var rng = AllocationMath.Rng(seed);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var clients = Enumerable.Range(0, clientCount).Select(_ => new List<int>()).ToArray();
            foreach (var (_, indices) in groups)
            {
                var order = (int[])indices.Clone();
                rng.Shuffle(order);
                var q = DirichletSampler.Sample(rng, alpha, clientCount);
                var start = 0;
                double cumulative = 0;
                for (var k = 0; k < clientCount; k++)
                {
                    cumulative += q[k];
                    var end = k == clientCount - 1 ? order.Length : Math.Min(order.Length, (int)(cumulative * order.Length));
                    clients[k].AddRange(order[start..end]);
                    start = end;
                }
            }
            if (clients.Min(c => c.Count) >= minClientSize) return AllocationMath.Finish(Name, seed, clients);
        }
        throw new InvalidOperationException(
            $"dirichlet: α={alpha} never gave all {clientCount} clients ≥ {minClientSize} records in {MaxAttempts} draws; raise Alpha or lower MinClientSize.");
    }
}
