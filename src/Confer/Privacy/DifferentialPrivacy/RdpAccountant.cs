namespace Confer.Privacy.DifferentialPrivacy;

/// <summary>
/// Rényi-DP accountant for the sampled Gaussian mechanism (Mironov, Talwar, Zhang, arXiv 1908.10530; the integer-order
/// formula of Opacus' <c>accountants/analysis/rdp.py</c>): each round adds RDP(α) = log A_α / (α − 1) at every order α,
/// with log A_α = logsumexp_i [log C(α,i) + i log q + (α−i) log(1−q) + (i² − i)/(2σ²)] computed in log space, and ε at
/// δ is min_α RDP(α) + log((α−1)/α) − (log δ + log α)/(α − 1) (Balle et al. 2020, arXiv 1905.09982, as in Opacus).
/// Orders are the integers 2..256 (algorithms.md §7.2).
/// </summary>
public sealed class RdpAccountant
{
    public const int MinOrder = 2;
    public const int MaxOrder = 256;

    private static readonly double[] LogFactorial = BuildLogFactorials(MaxOrder);
    private readonly int[] _orders;
    private readonly double[] _rdp;

    /// <param name="maxOrder">Largest integer order considered (2..<paramref name="maxOrder"/>).</param>
    public RdpAccountant(int maxOrder = MaxOrder)
    {
        if (maxOrder is < MinOrder or > MaxOrder) throw new ArgumentOutOfRangeException(nameof(maxOrder), maxOrder, $"Orders run from {MinOrder} to at most {MaxOrder}.");
        _orders = [.. Enumerable.Range(MinOrder, maxOrder - MinOrder + 1)];
        _rdp = new double[_orders.Length];
    }

    /// <summary>The accumulated RDP per order, in order 2, 3, …; a copy.</summary>
    public double[] Accumulated => (double[])_rdp.Clone();

    /// <summary>Replaces the accumulated RDP (a resumed run), checking it has one value per order.</summary>
    public void Restore(IReadOnlyList<double> rdp)
    {
        if (rdp.Count != _rdp.Length) throw new ArgumentException($"Accountant state has {rdp.Count} orders, expected {_rdp.Length}.");
        for (var i = 0; i < _rdp.Length; i++) _rdp[i] = rdp[i];
    }

    /// <summary>Composes <paramref name="steps"/> applications of the sampled Gaussian with rate q and noise multiplier σ.</summary>
    public void Step(double q, double sigma, int steps = 1)
    {
        for (var i = 0; i < _orders.Length; i++) _rdp[i] += steps * Rdp(q, sigma, _orders[i]);
    }

    /// <summary>ε at δ if one more step (q, σ) were composed, without composing it.</summary>
    public double EpsilonAfter(double q, double sigma, double delta)
    {
        var rdp = new double[_orders.Length];
        for (var i = 0; i < rdp.Length; i++) rdp[i] = _rdp[i] + Rdp(q, sigma, _orders[i]);
        return Convert(rdp, _orders, delta).Epsilon;
    }

    /// <summary>(ε, the order that attains it) at <paramref name="delta"/>; ε = 0 before any step.</summary>
    public (double Epsilon, int Order) Epsilon(double delta) => Convert(_rdp, _orders, delta);

    /// <summary>RDP of one step of the sampled Gaussian at integer order α.</summary>
    public static double Rdp(double q, double sigma, int alpha)
    {
        if (q is < 0 or > 1 || double.IsNaN(q)) throw new ArgumentOutOfRangeException(nameof(q), q, "The sampling rate must be in [0, 1].");
        if (!(sigma >= 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "The noise multiplier must be ≥ 0.");
        if (alpha < MinOrder || alpha > MaxOrder) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"Integer orders run from {MinOrder} to {MaxOrder}.");
        if (q == 0) return 0;
        if (sigma == 0) return double.PositiveInfinity;
        if (q == 1) return alpha / (2 * sigma * sigma);
        double logQ = Math.Log(q), log1MinusQ = Math.Log(1 - q);
        var logA = double.NegativeInfinity;
        for (var i = 0; i <= alpha; i++)
        {
            var term = LogBinomial(alpha, i) + i * logQ + (alpha - i) * log1MinusQ + (i * (double)i - i) / (2 * sigma * sigma);
            logA = LogAdd(logA, term);
        }
        return logA / (alpha - 1);
    }

    private static (double Epsilon, int Order) Convert(double[] rdp, int[] orders, double delta)
    {
        if (!(delta is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(delta), delta, "δ must be in (0, 1).");
        // Nothing released yet: the conversion's own slack is not a privacy cost.
        if (rdp.All(r => r == 0)) return (0, orders[0]);
        var best = (Epsilon: double.PositiveInfinity, Order: orders[0]);
        for (var i = 0; i < orders.Length; i++)
        {
            double a = orders[i];
            var eps = rdp[i] + Math.Log((a - 1) / a) - (Math.Log(delta) + Math.Log(a)) / (a - 1);
            if (eps < best.Epsilon) best = (eps, orders[i]);
        }
        return (Math.Max(0, best.Epsilon), best.Order);
    }

    /// <summary>log(e^a + e^b) without overflow.</summary>
    private static double LogAdd(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        var (hi, lo) = a > b ? (a, b) : (b, a);
        return hi + Math.Log(1 + Math.Exp(lo - hi));
    }

    private static double LogBinomial(int n, int k) => LogFactorial[n] - LogFactorial[k] - LogFactorial[n - k];

    private static double[] BuildLogFactorials(int n)
    {
        var table = new double[n + 1];
        for (var i = 2; i <= n; i++) table[i] = table[i - 1] + Math.Log(i);
        return table;
    }
}
