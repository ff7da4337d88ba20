using Confer.Federation;
using Confer.Federation.Clients;
using Confer.Federation.Rounds;

namespace Confer.Reasoning.Discriminator;

/// <summary>
/// The server's view of the federated discriminator: the global state (base + merged FLoRA ΔW + global head) scored on
/// labelled candidate sets the server holds. Metrics: <see cref="MetricNames.GlobalLoss"/> (mean BCE per candidate),
/// <c>fedcot/accuracy</c> (unweighted mean over the sets, the paper's "Avg") and <c>fedcot/accuracy/&lt;set&gt;</c>. A
/// simulation gives it the clients' test candidates — what each client would compute locally; a deployed server
/// would hold a validation set of its own.
/// </summary>
public sealed class DiscriminatorServerModel(ClientModel model, IReadOnlyList<(string Name, IReadOnlyList<EncodedQuestion> Questions)> sets, int batchSize, long padId)
    : ServerModel(model)
{
    public const string AccuracyMetric = "fedcot/accuracy";

    public static string AccuracyOf(string set) => $"{AccuracyMetric}/{set}";

    public override bool CanEvaluate => sets.Any(s => s.Questions.Count > 0);

    public override IReadOnlyDictionary<string, double> Evaluate(Strategy strategy)
    {
        Model.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        var classifier = DiscriminatorClient.Classifier(Model);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var reports = sets.Where(s => s.Questions.Count > 0).Select(s => (s.Name, Report: DiscriminatorReport.Of(classifier, s.Questions, batchSize, padId))).ToList();
        foreach (var (name, report) in reports) metrics[AccuracyOf(name)] = report.Accuracy;
        metrics[AccuracyMetric] = reports.Average(r => r.Report.Accuracy);
        metrics[MetricNames.GlobalLoss] = reports.Sum(r => r.Report.MeanBce * r.Report.Candidates) / reports.Sum(r => r.Report.Candidates);
        return metrics;
    }
}
