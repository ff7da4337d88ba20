using static TorchSharp.torch;

namespace Confer.Robustness.Aggregators;

/// <summary>
/// <c>krum</c> and <c>multi-krum</c> (Blanchard et al., NeurIPS 2017): score(i) = Σ of the squared L2 distances from
/// Δ_i to its n − f − 2 nearest other updates; Krum returns the update with the lowest score, Multi-Krum the mean of
/// the m lowest-scoring ones weighted by their p_k renormalised (as Flower). Needs n ≥ 2f + 3. Ties go to the lower
/// client id. Distances are computed in fp64 from one Gram matrix.
/// </summary>
public sealed class Krum : IRobustAggregator
{
    public const string RegistryName = "krum";
    public const string MultiRegistryName = "multi-krum";
    private readonly int _f;
    private readonly int? _keep;

    /// <param name="byzantine">f, the Byzantine clients tolerated.</param>
    /// <param name="keep">m, the updates kept (1 = Krum); null = n − f.</param>
    public Krum(int byzantine, int? keep)
    {
        if (byzantine < 0) throw new ArgumentException($"byzantine_clients must be ≥ 0 (got {byzantine}).");
        if (keep is < 1) throw new ArgumentException($"krum_keep must be ≥ 1 (got {keep}).");
        _f = byzantine;
        _keep = keep;
    }

    public string Name => _keep == 1 ? RegistryName : MultiRegistryName;

    /// <summary>The Krum score of every update.</summary>
    public double[] Scores(Tensor updates)
    {
        var n = (int)updates.shape[0];
        if (n < 2 * _f + 3)
            throw new ArgumentException($"{Name} with byzantine_clients f = {_f} needs at least 2f + 3 = {2 * _f + 3} updates, got {n}.");
        using var scope = NewDisposeScope();
        var x = updates.to(ScalarType.Float64);
        var gram = x.matmul(x.t());
        var squaredNorms = gram.diagonal();
        var distances = squaredNorms.unsqueeze(1).add(squaredNorms.unsqueeze(0)).sub(gram.mul(2)).clamp_min(0);
        // Each row's own zero distance sorts first; skip it and sum the next n − f − 2.
        var nearest = distances.sort(1).Values.narrow(1, 1, n - _f - 2).sum(1);
        return nearest.data<double>().ToArray();
    }

    public Tensor Combine(Tensor updates, IReadOnlyList<double> weights)
    {
        var scores = Scores(updates);
        var n = scores.Length;
        var keep = Math.Min(_keep ?? n - _f, n);
        var chosen = Enumerable.Range(0, n).OrderBy(i => scores[i]).ThenBy(i => i).Take(keep).Order().ToList();
        if (chosen.Count == 1) return updates[chosen[0]].clone();
        var total = chosen.Sum(i => weights[i]);
        var sum = updates[chosen[0]].mul(weights[chosen[0]] / total);
        foreach (var i in chosen.Skip(1)) sum.add_(updates[i], alpha: weights[i] / total);
        return sum;
    }
}
