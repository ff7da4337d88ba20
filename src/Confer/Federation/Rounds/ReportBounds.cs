namespace Confer.Federation.Rounds;

/// <summary>
/// Bounds on the numbers a client reports about itself. A client may be hostile, so its example count and metrics are
/// claims: each must be plausible before it weighs an average or enters the record. Refusals name the field.
/// </summary>
internal static class ReportBounds
{
    /// <param name="update">A training reply.</param>
    /// <param name="maxClientRecords">The run's cap on any client's training records (0 = none): an honest client never reports more.</param>
    public static void CheckTraining(ClientUpdate update, int maxClientRecords)
    {
        var cap = maxClientRecords > 0 ? maxClientRecords : ClientWeights.MaxExamples;
        if (update.NumExamples < 1)
            throw new InvalidClientUpdateException(update.ClientId, $"num_examples is {update.NumExamples}; a client that trained on nothing must not send an update");
        if (update.NumExamples > cap)
            throw new InvalidClientUpdateException(update.ClientId, maxClientRecords > 0
                ? $"num_examples is {update.NumExamples}, above max_client_records {maxClientRecords}, the most any client of this run trains on"
                : $"num_examples is {update.NumExamples}, above the limit of {ClientWeights.MaxExamples}");
        CheckMetrics(update);
    }

    /// <summary>An evaluation reply: no tensors, a bounded example count, and a finite non-negative <c>local_loss</c> when it evaluated anything.</summary>
    public static void CheckEvaluation(ClientUpdate update)
    {
        if (update.Adapter.Count > 0)
            throw new InvalidClientUpdateException(update.ClientId, $"an evaluation reply carries {update.Adapter.Count} tensor(s); it must carry none");
        if (update.NumExamples is < 0 or > ClientWeights.MaxExamples)
            throw new InvalidClientUpdateException(update.ClientId, $"num_examples is {update.NumExamples} in an evaluation reply");
        CheckMetrics(update);
        if (update.NumExamples > 0 && !(update.Metrics.TryGetValue(MetricNames.LocalLoss, out var loss) && loss >= 0))
            throw new InvalidClientUpdateException(update.ClientId, $"an evaluation of {update.NumExamples} examples must report a non-negative '{MetricNames.LocalLoss}'");
        if (update.Metrics.TryGetValue(MetricNames.Accuracy, out var accuracy) && accuracy is not (>= 0 and <= 1))
            throw new InvalidClientUpdateException(update.ClientId, $"'{MetricNames.Accuracy}' is {accuracy}; an accuracy lies in [0, 1]");
    }

    /// <summary>At most <see cref="MetricNames.MaxPerReply"/> metrics, each with a printable name and a finite value.</summary>
    public static void CheckMetrics(ClientUpdate update)
    {
        if (update.Metrics.Count > MetricNames.MaxPerReply)
            throw new InvalidClientUpdateException(update.ClientId, $"it reports {update.Metrics.Count} metrics; at most {MetricNames.MaxPerReply} are accepted");
        foreach (var (name, value) in update.Metrics)
        {
            if (name.Length is 0 or > MetricNames.MaxNameLength || name.Any(char.IsControl))
                throw new InvalidClientUpdateException(update.ClientId, $"a metric name is empty, longer than {MetricNames.MaxNameLength} characters or not printable");
            if (!double.IsFinite(value))
                throw new InvalidClientUpdateException(update.ClientId, $"metric '{name}' is {value}");
        }
    }
}
