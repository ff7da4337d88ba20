using Confer.Federation.Messages;
using Confer.Federation.Simulation;

namespace Confer.Federation.Rounds;

/// <summary>
/// What the <see cref="RoundDriver"/> lends a <see cref="ITrainingProtocol"/>: the run's settings, its clients, its
/// message stages and round policy, and the strategy — only under the driver's lock, because a deployed pool admits
/// replies on gRPC threads while the round is open.
/// </summary>
public sealed class RoundServices
{
    private readonly Strategy _strategy;
    private readonly Lock _strategyLock;

    internal RoundServices(SimulationSettings settings, Strategy strategy, Lock strategyLock, IClientPool pool, MessagePipeline pipeline, RoundPolicy policy,
        IRoundProgress progress)
    {
        Settings = settings;
        _strategy = strategy;
        _strategyLock = strategyLock;
        Pool = pool;
        Pipeline = pipeline;
        Policy = policy;
        Progress = progress;
    }

    public SimulationSettings Settings { get; }

    public IClientPool Pool { get; }

    public MessagePipeline Pipeline { get; }

    public RoundPolicy Policy { get; }

    public IRoundProgress Progress { get; }

    /// <summary>Runs <paramref name="action"/> on the strategy under the driver's lock (any thread).</summary>
    public void WithStrategy(Action<Strategy> action)
    {
        lock (_strategyLock) action(_strategy);
    }

    /// <summary>Runs <paramref name="action"/> on the strategy under the driver's lock (any thread) and returns its result.</summary>
    public T WithStrategy<T>(Func<Strategy, T> action)
    {
        lock (_strategyLock) return action(_strategy);
    }

    /// <summary>
    /// Changes the global state through <paramref name="aggregate"/>; on any unexpected error restores the state from
    /// before and returns the reason instead of a summary, so a failed aggregation costs the round, never the run.
    /// </summary>
    public (RoundSummary? Summary, string? Failure) AggregateSafely(Func<Strategy, RoundSummary> aggregate)
    {
        lock (_strategyLock)
        {
            using var before = _strategy.ExportState();
            try
            {
                return (aggregate(_strategy), null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A strategy bug or an input no check foresaw must cost the round, never the run or the global state.
                _strategy.ImportState(before);
                return (null, e.Message);
            }
        }
    }
}
