using System.Globalization;

namespace Confer.Federation.Reporting;

/// <summary>
/// The run's one-sentence answer, the same words on the console and at the top of report.html: does the federated
/// model beat training alone on the global test set, and how far is it from pooling all data centrally? Losses are
/// mean cross-entropy in nats per target token, lower is better.
/// </summary>
public sealed record RunVerdict(bool FederatedBeatsLocal, string Text)
{
    /// <summary>Null when the run has no federated loss or no local-only baseline to compare with.</summary>
    public static RunVerdict? Of(string strategy, double? federated, double? localOnlyMean, double? centralized)
    {
        if (federated is not { } fed || localOnlyMean is not { } local) return null;
        var wins = fed < local;
        var text = wins
            ? $"federated ({strategy}) beats local-only on the global test set by {F(local - fed)} nats/token ({F(fed)} vs {F(local)})"
            : $"local-only is not beaten: federated ({strategy}) {F(fed)} vs local-only {F(local)} on the global test set ({F(fed - local)} nats/token worse)";
        if (centralized is { } central)
            text += central <= fed
                ? $"; centralized training on pooled data reaches {F(central)}, {F(fed - central)} nats/token lower"
                : $"; it even beats centralized training on pooled data ({F(central)})";
        return new RunVerdict(wins, text);
    }

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}
