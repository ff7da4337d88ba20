using Confer.Federation.Reporting;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Confer.Training;
using Spectre.Console;

namespace Confer.Cli.Console;

/// <summary>
/// Progress of a simulation: on a terminal, live bars for the rounds and for the client (or baseline) training now
/// (loss, tokens/s, ETA); when redirected, one log line per client and per round. Ends with a summary table.
/// </summary>
internal sealed class SimulationConsole(int rounds) : IRoundProgress
{
    private ProgressContext? _ctx;
    private ProgressTask? _rounds;
    private ProgressTask? _current;
    private string _label = "";
    private TrainProgress? _last;

    public T Run<T>(Func<T> run)
    {
        if (!TrainingProgressView.Interactive) return run();
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                _ctx = ctx;
                _rounds = ctx.AddTask("rounds", maxValue: rounds);
                result = run();
            });
        return result;
    }

    public void Phase(string message, int round = 0)
    {
        // The driver reports every step of a round; the console shows what happens outside the rounds' own lines.
        if (message is "training" or "waiting for clients" or "evaluating" or "evaluating on clients" or "checkpointing" or "finished") return;
        Log($"[grey]{Markup.Escape(message)}[/]");
    }

    public void Warning(string message) => Log($"[yellow]{Markup.Escape(message)}[/]");

    public void TrainingStarted(string label, int totalSteps)
    {
        _label = label;
        _last = null;
        if (_ctx is not null) _current = _ctx.AddTask(Markup.Escape(label), maxValue: Math.Max(1, totalSteps));
    }

    public void TrainingProgress(TrainProgress p)
    {
        _last = p;
        if (_current is null) return;
        _current.Value = p.Step;
        _current.Description = Markup.Escape($"{_label}  loss {p.Loss:F3}  {p.TokensPerSecond:F0} tok/s");
    }

    public void TrainingFinished()
    {
        if (_current is not null)
        {
            _current.Value = _current.MaxValue;
            _current.StopTask();
            _current = null;
        }
        else if (_last is { } p)
        {
            System.Console.WriteLine($"  {_label}: {p.Step} steps, loss {p.Loss:F4}, {p.TokensPerSecond:F0} tok/s");
        }
    }

    public void RoundFinished(RoundRecord r)
    {
        if (_rounds is not null) _rounds.Value = r.Round;
        var dropped = r.Dropped.Count > 0 ? $", dropped {string.Join(",", r.Dropped.Select(d => d.ClientId))}" : "";
        var global = r.GlobalLoss is { } loss ? $"global loss [bold]{loss:F4}[/] (ppl {r.GlobalPerplexity:F2}), " : "";
        // With a simulated network, the round's simulated wall-clock next to the real time it took here.
        var simulated = r.Metric(MetricNames.SimulatedSeconds) is { } sim ? $"simulated {sim:F1} s, real " : "";
        Log($"round {r.Round}/{rounds}: {global}train loss {r.TrainLoss:F4}, " +
            $"clients {Markup.Escape(string.Join(",", r.Aggregated))}{Markup.Escape(dropped)}, up {Sent(r.Up)}, down {Sent(r.Down)}, {simulated}{r.Seconds:F1} s" +
            Markup.Escape(RoundNotes.Privacy(r)));
    }

    /// <summary>Bytes that travelled, and their fp32 size when a codec shrank them.</summary>
    private static string Sent(Confer.Federation.TransferCost cost) =>
        cost.RawBytes == cost.Bytes ? Bytes(cost.Bytes) : $"{Bytes(cost.Bytes)} (fp32 {Bytes(cost.RawBytes)})";

    public static void Summary(SimulationResult r)
    {
        var table = new Table().Title("confer simulate").AddColumn("model").AddColumn(new TableColumn("global test loss").RightAligned())
            .AddColumn(new TableColumn("perplexity").RightAligned());
        if (r.InitialLoss is { } initial) table.AddRow("base (round 0)", $"{initial:F4}", $"{Math.Exp(initial):F2}");
        if (r.GlobalLoss is { } global) table.AddRow($"federated ({Markup.Escape(r.Strategy)})", $"[bold]{global:F4}[/]", $"{r.GlobalPerplexity:F2}");
        if (r.LocalOnlyMeanLoss is { } local) table.AddRow("local-only (mean over clients)", $"{local:F4}", $"{Math.Exp(local):F2}");
        if (r.CentralizedLoss is { } central) table.AddRow("centralized (pooled data)", $"{central:F4}", $"{Math.Exp(central):F2}");
        AnsiConsole.Write(table);
        // What each baseline row's optimiser steps were matched to: a federated "win" over a baseline with less compute means nothing.
        if (r.LocalOnlyCompute is { } localCompute) BaselineNote("local-only", localCompute);
        if (r.CentralizedCompute is { } centralCompute) BaselineNote("centralized", centralCompute);
        AnsiConsole.MarkupLine($"traffic: up {Bytes(r.BytesUp)}, down {Bytes(r.BytesDown)}; time {r.Seconds:F0} s" +
                               (r.SimulatedSeconds is { } sim ? $"; simulated wall-clock {sim:F0} s" : ""));
        if (RunVerdict.Of(r.Strategy, r.GlobalLoss, r.LocalOnlyMeanLoss, r.CentralizedLoss) is { } verdict)
            AnsiConsole.MarkupLine($"[{(verdict.FederatedBeatsLocal ? "green" : "yellow")}]{Markup.Escape(verdict.Text)}[/]");
        if (AllocationInfo.Read(r.RunFolder)?.CapNote() is { } capped)
            AnsiConsole.MarkupLine($"[yellow]note:[/] {Markup.Escape(capped)} Set max_client_records: 0 to train on every record.");
        AnsiConsole.MarkupLine($"run folder: {Markup.Escape(r.RunFolder)} (report.html, metrics.jsonl, final/model, final/adapter)");
    }

    private static void BaselineNote(string row, string compute) =>
        AnsiConsole.MarkupLine(compute.Contains(BaselineEntry.NotMatched, StringComparison.Ordinal)
            ? $"[yellow]{row}: {Markup.Escape(compute)}[/]"
            : $"{row}: {Markup.Escape(compute)}");

    private static void Log(string markup) => AnsiConsole.MarkupLine(markup);

    /// <summary>The report's units (decimal kB/MB), so the console and report.html show the same figures.</summary>
    private static string Bytes(long b) => ReportFormat.Bytes(b);
}
