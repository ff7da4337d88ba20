using System.Diagnostics;
using Confer.Training;
using Spectre.Console;

namespace Confer.Cli.Console;

/// <summary>
/// Shows a training run: a live progress bar (step, loss, tokens/s, ETA) on a terminal, or one plain log line every
/// few seconds when output is redirected (Spectre's live display prints nothing there).
/// </summary>
internal sealed class TrainingProgressView
{
    private readonly string _title;
    private readonly Stopwatch _sinceLog = Stopwatch.StartNew();

    public TrainingProgressView(string title) => _title = title;

    public static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive && !System.Console.IsOutputRedirected;

    /// <summary>Runs <paramref name="train"/>, handing it a progress callback wired to the display.</summary>
    public T Run<T>(int totalSteps, Func<Action<TrainProgress>, T> train)
    {
        if (!Interactive) return train(LogLine);
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(_title), maxValue: Math.Max(1, totalSteps));
                result = train(p =>
                {
                    task.Value = p.Step;
                    task.Description = Markup.Escape($"{_title} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} {p.TokensPerSecond:F0} tok/s");
                });
                task.Value = task.MaxValue;
            });
        return result;
    }

    private void LogLine(TrainProgress p)
    {
        if (p.Step != p.TotalSteps && _sinceLog.Elapsed < TimeSpan.FromSeconds(10)) return;
        _sinceLog.Restart();
        System.Console.WriteLine($"{_title} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.LearningRate:G3} {p.TokensPerSecond:F0} tok/s");
    }
}
