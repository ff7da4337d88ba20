namespace Confer.Training;

/// <summary>Exact-match accuracy of generated answers on a QA set.</summary>
/// <param name="Total">Questions asked.</param>
/// <param name="Correct">Questions whose extracted answer matched the gold answer.</param>
/// <param name="Unparsed">Outputs with no recognisable answer (counted as wrong).</param>
/// <param name="Predictions">Every item, in input order, for error analysis.</param>
public sealed record QaReport(int Total, int Correct, int Unparsed, IReadOnlyList<QaPrediction> Predictions)
{
    public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;
}
