using ScottPlot;
using ScottPlot.TickGenerators;

namespace Confer.Federation.Reporting;

/// <summary>
/// Builds the report's plots from a run. A plot whose data the run folder lacks (no baselines, no allocation, no
/// finished round) is null, and the HTML says why instead of showing an empty chart.
/// </summary>
internal static class ReportPlots
{
    public const string GlobalLossTitle = "Global test loss per round";
    public const string BaselinesTitle = "Federated vs local-only vs centralized";
    public const string CommunicationTitle = "Communication per round";
    public const string ClientDataTitle = "Client data";
    public const string SimulatedTimeTitle = "Simulated and real time per round";
    public const string LossOverSimulatedTimeTitle = "Global test loss over simulated time";

    public static ReportFigure? GlobalLoss(RunMetrics metrics)
    {
        var evaluated = metrics.Rounds.Where(r => r.GlobalLoss is not null).ToList();
        if (evaluated.Count == 0) return null;
        var plot = NewPlot(GlobalLossTitle, "Round", "Loss");
        Line(plot, evaluated.Select(r => (double)r.Round), evaluated.Select(r => r.GlobalLoss!.Value), "global test loss");
        var trained = metrics.Rounds.Where(r => r.TrainLoss is not null).ToList();
        if (trained.Count > 0)
        {
            var train = Line(plot, trained.Select(r => (double)r.Round), trained.Select(r => r.TrainLoss!.Value), "mean client train loss");
            train.LineWidth = 1;
            train.MarkerShape = MarkerShape.OpenSquare;
        }
        IntegerRounds(plot);
        return new ReportFigure(GlobalLossTitle, "global_loss.png", plot);
    }

    /// <summary>
    /// The federated curve against the baselines. Local-only models are trained once, not per round, so each client's
    /// model is one point drawn at the final round, where it competes with the federated result.
    /// </summary>
    public static ReportFigure? Baselines(RunMetrics metrics)
    {
        var central = metrics.CentralizedLoss;
        var local = metrics.LocalOnly.Where(b => b.GlobalLoss is not null).ToList();
        if (central is null && local.Count == 0) return null;

        var plot = NewPlot(BaselinesTitle, "Round", "Global test loss");
        var evaluated = metrics.Rounds.Where(r => r.GlobalLoss is not null).ToList();
        if (evaluated.Count > 0)
            Line(plot, evaluated.Select(r => (double)r.Round), evaluated.Select(r => r.GlobalLoss!.Value), "federated");
        if (central is { } c)
            Level(plot, c, "centralized", Colors.Green);
        if (metrics.MeanLocalOnlyLoss is { } mean)
            Level(plot, mean, "local-only (mean)", Colors.OrangeRed);
        if (local.Count > 0)
        {
            double at = evaluated.Count > 0 ? evaluated[^1].Round : 0;
            var points = plot.Add.Scatter(local.Select(_ => at).ToArray(), local.Select(b => b.GlobalLoss!.Value).ToArray());
            points.LineWidth = 0;
            points.MarkerShape = MarkerShape.OpenCircle;
            points.MarkerSize = 9;
            points.Color = Colors.OrangeRed;
            points.LegendText = "local-only (per client)";
        }

        // Limits cover every value drawn, the reference lines included, with a small margin.
        var ys = evaluated.Select(r => r.GlobalLoss!.Value).Concat(local.Select(b => b.GlobalLoss!.Value))
            .Concat(central is { } cc ? [cc] : []).Where(double.IsFinite).ToList();
        if (ys.Count > 0)
        {
            var pad = Math.Max((ys.Max() - ys.Min()) * 0.08, 0.05);
            plot.Axes.SetLimitsY(ys.Min() - pad, ys.Max() + pad);
        }
        var rounds = evaluated.Select(r => (double)r.Round).DefaultIfEmpty(0).ToList();
        plot.Axes.SetLimitsX(rounds.Min() - 0.5, rounds.Max() + 0.5);
        IntegerRounds(plot);
        return new ReportFigure(BaselinesTitle, "federated_vs_baselines.png", plot);
    }

    /// <summary>Uplink and downlink bytes of each training round as paired bars, in MB (10^6 bytes).</summary>
    public static ReportFigure? Communication(RunMetrics metrics)
    {
        var rounds = metrics.TrainingRounds;
        if (rounds.Count == 0) return null;
        var plot = NewPlot(CommunicationTitle, "Round", "MB");
        Bars(plot, rounds.Select(r => (r.Round - 0.2, ReportFormat.Megabytes(r.BytesUp))), "bytes up (clients to server)", Colors.SteelBlue);
        Bars(plot, rounds.Select(r => (r.Round + 0.2, ReportFormat.Megabytes(r.BytesDown))), "bytes down (server to clients)", Colors.DarkOrange);
        plot.Axes.Margins(bottom: 0);
        IntegerRounds(plot);
        return new ReportFigure(CommunicationTitle, "communication.png", plot);
    }

    /// <summary>
    /// Per training round, the simulated wall-clock (slowest client: download + compute + upload on its simulated
    /// device and link) next to the real time the round took on this machine (training every client in turn,
    /// aggregating, evaluating). Null unless the run had a simulated network.
    /// </summary>
    public static ReportFigure? SimulatedTime(RunMetrics metrics)
    {
        if (!metrics.HasSimulatedTime) return null;
        var rounds = metrics.TrainingRounds;
        var plot = NewPlot(SimulatedTimeTitle, "Round", "Seconds");
        Bars(plot, rounds.Select(r => (r.Round - 0.2, SimulatedSeconds(r) ?? 0)), "simulated wall-clock (slowest client)", Colors.SteelBlue);
        Bars(plot, rounds.Select(r => (r.Round + 0.2, r.Seconds)), "real time of the round on this machine", Colors.DarkOrange);
        plot.Axes.Margins(bottom: 0);
        IntegerRounds(plot);
        return new ReportFigure(SimulatedTimeTitle, "simulated_time.png", plot);
    }

    /// <summary>The global test loss at the simulated time each round ended (cumulative), the curve a time-to-target comparison reads.</summary>
    public static ReportFigure? LossOverSimulatedTime(RunMetrics metrics)
    {
        if (!metrics.HasSimulatedTime) return null;
        var points = SimulatedClock(metrics).Where(p => p.Loss is not null).ToList();
        if (points.Count == 0) return null;
        var plot = NewPlot(LossOverSimulatedTimeTitle, "Simulated seconds since the start", "Global test loss");
        Line(plot, points.Select(p => p.Seconds), points.Select(p => p.Loss!.Value), "global test loss");
        return new ReportFigure(LossOverSimulatedTimeTitle, "loss_over_simulated_time.png", plot);
    }

    /// <summary>Each round's end on the simulated clock (round 0 at 0 s) with its global loss.</summary>
    public static IEnumerable<(int Round, double Seconds, double? Loss)> SimulatedClock(RunMetrics metrics)
    {
        var clock = 0.0;
        foreach (var r in metrics.Rounds)
        {
            clock += SimulatedSeconds(r) ?? 0;
            yield return (r.Round, clock, r.GlobalLoss);
        }
    }

    public static double? SimulatedSeconds(RoundEntry r) =>
        r.Metrics is { } m && m.TryGetValue(Rounds.MetricNames.SimulatedSeconds, out var s) ? s : null;
    /// <summary>Most clients whose ids fit under their bars as labels; more get numbered ticks.</summary>
    private const int MaxNamedClients = 25;

    /// <summary>One stacked bar per client: its training records by category, categories ordered by overall count.</summary>
    public static ReportFigure? ClientData(AllocationInfo? allocation)
    {
        if (allocation is null || allocation.Clients.Count == 0) return null;
        var clients = allocation.Clients;
        var categories = clients.SelectMany(c => Categories(c))
            .GroupBy(kv => kv.Key, StringComparer.Ordinal)
            .OrderByDescending(g => g.Sum(kv => kv.Value)).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Key).ToList();

        var plot = NewPlot(ClientDataTitle, "", "Training records", legend: Edge.Right); // categories list vertically
        var palette = new ScottPlot.Palettes.Category10();
        var stacked = new double[clients.Count];
        for (var k = 0; k < categories.Count; k++)
        {
            var bars = new List<Bar>();
            for (var i = 0; i < clients.Count; i++)
            {
                var count = Categories(clients[i]).GetValueOrDefault(categories[k]);
                bars.Add(new Bar { Position = i, ValueBase = stacked[i], Value = stacked[i] + count, FillColor = palette.GetColor(k), Size = 0.7 });
                stacked[i] += count;
            }
            plot.Add.Bars(bars).LegendText = categories[k];
        }
        if (clients.Count <= MaxNamedClients)
        {
            plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, clients.Count).Select(i => (double)i)], [.. clients.Select(c => c.Client)]);
            if (clients.Count > 10)
            {
                plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
                plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
                plot.Axes.Bottom.MinimumSize = 12 + 7 * clients.Max(c => Math.Min(c.Client.Length, 24)); // room for the slanted ids
            }
        }
        else
        {
            // A hundred slanted ids overlap into a grey band: label every k-th bar by its position, which the table below
            // maps to client ids.
            var every = (int)Math.Ceiling(clients.Count / (double)MaxNamedClients);
            var ticks = Enumerable.Range(0, clients.Count).Where(i => i % every == 0).ToList();
            plot.Axes.Bottom.SetTicks([.. ticks.Select(i => (double)i)], [.. ticks.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
            plot.XLabel($"Client (position in the table below; one label per {every} clients)");
        }
        plot.Axes.Margins(bottom: 0);
        var width = Math.Clamp(300 + 50 * clients.Count, 800, 2400);
        return new ReportFigure(ClientDataTitle, "client_data.png", plot, width, 450);
    }

    /// <summary>A client's counts by category; a client listed with a size but no categories counts as one unnamed category.</summary>
    private static IReadOnlyDictionary<string, int> Categories(ClientAllocation c) =>
        c.Categories.Count > 0 || c.Size == 0 ? c.Categories : new Dictionary<string, int> { ["(uncategorised)"] = c.Size };

    /// <summary>A titled plot with its legend outside the axes (below by default), where it cannot hide data.</summary>
    internal static Plot NewPlot(string title, string x, string y, Edge legend = Edge.Bottom)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        plot.ShowLegend(legend);
        return plot;
    }

    internal static ScottPlot.Plottables.Scatter Line(Plot plot, IEnumerable<double> xs, IEnumerable<double> ys, string label)
    {
        var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = 6;
        return line;
    }

    /// <summary>
    /// A horizontal reference line, told apart by colour: Skia's SVG backend cannot draw dash patterns (it draws them
    /// solid and prints "Unsupported path effect" to the console), so no plot here uses them.
    /// </summary>
    private static void Level(Plot plot, double y, string label, Color color)
    {
        var line = plot.Add.HorizontalLine(y);
        line.LegendText = label;
        line.Color = color;
        line.LineWidth = 2;
    }

    private static void Bars(Plot plot, IEnumerable<(double Position, double Value)> values, string label, Color color)
    {
        var bars = values.Select(v => new Bar { Position = v.Position, Value = v.Value, FillColor = color, Size = 0.4 }).ToList();
        plot.Add.Bars(bars).LegendText = label;
    }

    /// <summary>Rounds are whole numbers; the default tick generator would label 0.5 steps on short runs.</summary>
    private static void IntegerRounds(Plot plot) => plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
}
