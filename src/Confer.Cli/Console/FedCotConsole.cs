using Confer.Federation.Rounds;
using Confer.Reasoning.Discriminator;
using Confer.Reasoning.FedCot;
using Confer.Training;
using Spectre.Console;

namespace Confer.Cli.Console;

/// <summary>
/// Progress of <c>confer fedcot</c> as plain lines (it runs for minutes and is often logged to a file): phases,
/// generation every tenth of a split, training every tenth of a run, and one line per discriminator round.
/// </summary>
internal sealed class FedCotConsole : IFedCotProgress
{
    private string _label = "";
    private int _total;
    private int _lastTenth = -1;

    public void Phase(string message, int round = 0) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]");

    public void Warning(string message) => AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(message)}");

    public void GenerationStarted(string label, int questions) => Start(label, questions);

    public void GenerationProgress(int done) => Report(done, "questions");

    public void TrainingStarted(string label, int totalSteps) => Start(label, totalSteps);

    public void TrainingProgress(TrainProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        Report(progress.Step, $"steps, loss {progress.Loss:F4}");
    }

    public void RoundFinished(RoundRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var accuracies = record.Metrics.Where(m => m.Key.StartsWith(DiscriminatorServerModel.AccuracyMetric + "/", StringComparison.Ordinal)).ToList();
        var mean = accuracies.Count == 0 ? "" : $", best-of-K accuracy (mean of clients) {100 * accuracies.Average(m => m.Value):F2} %";
        var loss = record.GlobalLoss is { } l ? $", loss {l:F4}" : "";
        AnsiConsole.MarkupLine(Markup.Escape($"round {record.Round}{loss}{mean}, up {record.Up.Bytes:N0} B, down {record.Down.Bytes:N0} B"));
    }

    private void Start(string label, int total)
    {
        (_label, _total, _lastTenth) = (label, total, -1);
        Report(0, "");
    }

    private void Report(int done, string unit)
    {
        var tenth = _total == 0 ? 10 : 10 * done / _total;
        if (tenth == _lastTenth) return;
        _lastTenth = tenth;
        if (done > 0) AnsiConsole.MarkupLine(Markup.Escape($"  {_label}: {done}/{_total} {unit}"));
    }
}
