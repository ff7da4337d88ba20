namespace Confer.Tests.Privacy;

/// <summary>Pearson's χ² test that bytes are uniform over 0..255, with the p-value from the Wilson–Hilferty approximation.</summary>
internal static class Uniformity
{
    /// <summary>P(χ²₂₅₅ ≥ the statistic of the low bytes of <paramref name="words"/>).</summary>
    public static double LowBytePValue(IReadOnlyList<uint> words)
    {
        var counts = new long[256];
        foreach (var w in words) counts[w & 0xFF]++;
        var expected = words.Count / 256.0;
        var chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        const double k = 255;
        // (χ²/k)^(1/3) is close to normal with mean 1 − 2/(9k) and variance 2/(9k).
        var z = (Math.Cbrt(chi2 / k) - (1 - 2 / (9 * k))) / Math.Sqrt(2 / (9 * k));
        return 0.5 * Erfc(z / Math.Sqrt(2));
    }

    /// <summary>Complementary error function (Numerical Recipes' erfc, relative error &lt; 1.2e-7).</summary>
    private static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
            t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
