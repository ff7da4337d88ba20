namespace Confer.Federation.Reporting;

/// <summary>The report's plots for one run; each is null where the run folder lacks its data.</summary>
internal sealed class ReportFigures : IDisposable
{
    private ReportFigures(RunData run)
    {
        GlobalLoss = ReportPlots.GlobalLoss(run.Metrics);
        Baselines = ReportPlots.Baselines(run.Metrics);
        Communication = ReportPlots.Communication(run.Metrics);
        SimulatedTime = ReportPlots.SimulatedTime(run.Metrics);
        LossOverSimulatedTime = ReportPlots.LossOverSimulatedTime(run.Metrics);
        ClientData = ReportPlots.ClientData(run.Allocation);
    }

    public ReportFigure? GlobalLoss { get; }
    public ReportFigure? Baselines { get; }
    public ReportFigure? Communication { get; }
    public ReportFigure? SimulatedTime { get; }
    public ReportFigure? LossOverSimulatedTime { get; }
    public ReportFigure? ClientData { get; }

    public IEnumerable<ReportFigure> All =>
        new[] { GlobalLoss, Baselines, Communication, SimulatedTime, LossOverSimulatedTime, ClientData }.OfType<ReportFigure>();

    public static ReportFigures Build(RunData run)
    {
        PlotFonts.Configure();
        return new ReportFigures(run);
    }

    public void Dispose()
    {
        foreach (var figure in All) figure.Dispose();
    }
}
