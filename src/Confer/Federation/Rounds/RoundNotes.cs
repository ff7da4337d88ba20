using System.Globalization;
using Confer.Privacy.DifferentialPrivacy;
using Confer.Robustness.Attacks;

namespace Confer.Federation.Rounds;

/// <summary>
/// The parts of a round's one-line summary that every console prints the same way — <c>confer simulate</c>'s round
/// lines and <c>confer server</c>'s "Round N committed" log line — so the two never disagree on what a figure means.
/// </summary>
internal static class RoundNotes
{
    /// <summary>
    /// The privacy budget spent so far (ε at the run's δ) and the compliance probe's rate, when the round has them,
    /// e.g. <c>", ε 2.105 (δ = 1e-05), compliance 10 %"</c>; empty otherwise.
    /// </summary>
    public static string Privacy(RoundRecord r)
    {
        var delta = r.Metric(DpController.DeltaMetric) is { } d ? $" (δ = {d.ToString("G3", CultureInfo.InvariantCulture).Replace('E', 'e')})" : "";
        return (r.Metric(DpController.EpsilonMetric) is { } epsilon ? $", ε {epsilon.ToString("F3", CultureInfo.InvariantCulture)}{delta}" : "") +
               (r.Metric(ComplianceProbe.Metric) is { } compliance ? $", compliance {compliance.ToString("P0", CultureInfo.InvariantCulture)}" : "");
    }
}
