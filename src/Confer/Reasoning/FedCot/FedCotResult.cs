using System.Globalization;
using System.Text;
using System.Text.Json;
using Confer.Federation.Rounds;

namespace Confer.Reasoning.FedCot;

/// <summary>One client's row of the paper-style table: test accuracy of every method (null when the method did not run).</summary>
public sealed record FedCotRow(string Dataset, int TestQuestions, double CandidateAccuracy, double? Cot, double? SelfConsistency, double? Local,
    double? FedSft, double? FedCot, double? PassAtK);

/// <summary>What one federated method moves per round, summed over clients and averaged over rounds.</summary>
public sealed record RoundTraffic(string Method, double ParametersUp, double ParametersDown, double BytesUp, double BytesDown, int Rounds)
{
    public double Parameters => ParametersUp + ParametersDown;

    public double Bytes => BytesUp + BytesDown;

    public static RoundTraffic Of(string method, IReadOnlyList<RoundRecord> rounds)
    {
        var trained = rounds.Where(r => r.Round > 0).ToList();
        if (trained.Count == 0) return new RoundTraffic(method, 0, 0, 0, 0, 0);
        return new RoundTraffic(method, trained.Average(r => (double)r.Up.Parameters), trained.Average(r => (double)r.Down.Parameters),
            trained.Average(r => (double)r.Up.Bytes), trained.Average(r => (double)r.Down.Bytes), trained.Count);
    }
}

/// <summary>The outcome of <c>confer fedcot</c>: the table, the traffic comparison and where everything was written.</summary>
public sealed record FedCotResult(string RunFolder, string Suite, int K, IReadOnlyList<FedCotRow> Rows, RoundTraffic FedCot, RoundTraffic? FedSft,
    string DiscriminatorRun, string? FedSftRun, double Seconds)
{
    public const string FileName = "fedcot.json";

    public const string TableFile = "table.md";

    /// <summary>Method columns in the paper's order: name and how to read a row.</summary>
    public static readonly IReadOnlyList<(string Name, Func<FedCotRow, double?> Value)> Methods =
    [
        ("CoT (greedy)", r => r.Cot), ("Self-Consistency", r => r.SelfConsistency), ("Local discriminator", r => r.Local),
        ("Fed-SFT", r => r.FedSft), ("FedCoT", r => r.FedCot), ($"pass@K (oracle)", r => r.PassAtK),
    ];

    /// <summary>The unweighted mean over clients (the paper's "Avg"), null when the method did not run.</summary>
    public static double? Average(IReadOnlyList<FedCotRow> rows, Func<FedCotRow, double?> value) =>
        rows.All(r => value(r) is not null) && rows.Count > 0 ? rows.Average(r => value(r)!.Value) : null;

    /// <summary>The table as GitHub Markdown: accuracy (%) per client and average, then traffic per round.</summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        var methods = Methods.Where(m => Rows.Any(r => m.Value(r) is not null)).ToList();
        md.Append("| client (data set) | test questions | candidate acc. |").Append(string.Concat(methods.Select(m => $" {m.Name.Replace("K", K.ToString(CultureInfo.InvariantCulture))} |"))).Append('\n');
        md.Append("|---|---:|---:|").Append(string.Concat(methods.Select(_ => "---:|"))).Append('\n');
        foreach (var r in Rows)
            md.Append($"| {r.Dataset} | {r.TestQuestions} | {Pct(r.CandidateAccuracy)} |").Append(string.Concat(methods.Select(m => $" {Pct(m.Value(r))} |"))).Append('\n');
        md.Append($"| **average** | {Rows.Sum(r => r.TestQuestions)} | {Pct(Rows.Average(r => r.CandidateAccuracy))} |")
            .Append(string.Concat(methods.Select(m => $" **{Pct(Average(Rows, m.Value))}** |"))).Append('\n');
        md.Append("\n| per round (all clients) | parameters up | parameters down | parameters total | bytes total |\n|---|---:|---:|---:|---:|\n");
        foreach (var t in new[] { FedCot, FedSft }.OfType<RoundTraffic>())
            md.Append($"| {t.Method} | {N(t.ParametersUp)} | {N(t.ParametersDown)} | {N(t.Parameters)} | {N(t.Bytes)} |\n");
        return md.ToString();
    }

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });

    public static string Pct(double? value) => value is { } v ? (100 * v).ToString("F2", CultureInfo.InvariantCulture) : "—";

    private static string N(double value) => Math.Round(value).ToString("N0", CultureInfo.InvariantCulture);
}
