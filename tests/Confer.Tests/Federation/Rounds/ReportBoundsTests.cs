using Confer.Federation;
using Confer.Federation.Rounds;
using Confer.Models;

namespace Confer.Tests.Federation.Rounds;

/// <summary>A client's evaluation reply is a claim: an accuracy outside [0, 1] (or not a number) is refused by name, before it reaches the record.</summary>
public class ReportBoundsTests
{
    private static ClientUpdate Evaluation(double accuracy) =>
        new("site-a", new NamedTensors(), 12, new Dictionary<string, double> { [MetricNames.LocalLoss] = 0.7, [MetricNames.Accuracy] = accuracy });

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.25)]
    [InlineData(1.0)]
    public void An_accuracy_in_the_unit_interval_is_accepted(double accuracy) => ReportBounds.CheckEvaluation(Evaluation(accuracy));

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.5)]
    [InlineData(1e9)]
    [InlineData(double.NaN)]
    public void An_accuracy_outside_the_unit_interval_is_refused_naming_the_client(double accuracy)
    {
        var e = Assert.Throws<InvalidClientUpdateException>(() => ReportBounds.CheckEvaluation(Evaluation(accuracy)));
        Assert.Contains("site-a", e.Message, StringComparison.Ordinal);
        Assert.Contains(double.IsNaN(accuracy) ? "metric 'accuracy'" : "'accuracy'", e.Message, StringComparison.Ordinal);
    }
}
