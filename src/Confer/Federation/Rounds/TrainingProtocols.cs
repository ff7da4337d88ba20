using Confer.Federation.Simulation;
using Confer.Privacy.SecureAggregation;

namespace Confer.Federation.Rounds;

/// <summary>The training protocol a run's settings call for: secure aggregation, or the plain single exchange.</summary>
public static class TrainingProtocols
{
    public static ITrainingProtocol For(SimulationSettings s) => s.SecureAggregation ? new SecureAggregationTraining() : new PlainTraining();
}
