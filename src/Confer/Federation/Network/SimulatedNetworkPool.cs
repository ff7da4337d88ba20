using Confer.Federation.Rounds;

namespace Confer.Federation.Network;

/// <summary>
/// The simulated network around a simulation's client pool: a selected client that drops out this round never gets
/// its task and is reported dropped, and a client whose simulated round (<see cref="SimulatedNetwork.Time"/>)
/// exceeds <c>round_deadline_s</c> has its update refused with "missed the round deadline" — the same dropped-client
/// path a deployment's gRPC gate takes. It adds each training exchange's <see cref="ClientTiming"/>s and two round
/// metrics: <see cref="MetricNames.SimulatedSeconds"/> (the round's simulated wall-clock, summed over retried attempts)
/// and <see cref="MetricNames.RealTrainSeconds"/> (the clients' measured training time on this machine). Evaluation
/// exchanges pass through untimed: they are monitoring, not training.
/// </summary>
internal sealed class SimulatedNetworkPool(IClientPool inner, SimulatedNetwork network, IRoundProgress progress) : IClientPool
{
    private (int Round, double Seconds) _earlierAttempts;

    public Task<IReadOnlyList<string>> AvailableAsync(int round, CancellationToken ct) => inner.AvailableAsync(round, ct);

    public IReadOnlyList<string> ReachableNow() => inner.ReachableNow();

    public IReadOnlyDictionary<string, double> Capabilities(string clientId) => network.Capabilities(clientId);

    public async Task<ExchangeResult> ExchangeAsync(Exchange exchange, CancellationToken ct)
    {
        if (exchange.Kind != TaskKind.Train) return await inner.ExchangeAsync(exchange, ct).ConfigureAwait(false);
        var dropped = new List<DroppedClient>();
        var delivered = new List<ClientTask>();
        foreach (var task in exchange.Tasks)
        {
            if (!network.DropsOut(exchange.Round, exchange.Attempt, task.ClientId))
            {
                delivered.Add(task);
                continue;
            }
            var reason = $"dropped out (simulated: drop-out probability {network.DeviceOf(task.ClientId).Dropout:0.###} per round)";
            dropped.Add(new DroppedClient(task.ClientId, reason));
            progress.Warning($"round {exchange.Round}: {task.ClientId} {reason}");
        }
        var sent = delivered.ToDictionary(t => t.ClientId, StringComparer.Ordinal);
        var timings = new List<ClientTiming>();
        var realSeconds = 0.0;
        var missedDeadline = false;
        ClientUpdate AdmitTimed(ClientUpdate wire)
        {
            var task = sent[wire.ClientId];
            var timing = network.Time(exchange.Round, exchange.Attempt, wire.ClientId, task.LoraRank,
                TransferCost.Of(task).Bytes, TransferCost.Of(wire.Adapter).Bytes, (long)Math.Min(Reported(wire, SimulatedNetwork.TokensMetric), 1e15));
            lock (timings)
            {
                timings.Add(timing);
                realSeconds += Reported(wire, SimulatedNetwork.TrainSecondsMetric);
            }
            if (network.DeadlineSeconds is { } deadline && timing.Seconds > deadline)
            {
                lock (timings) missedDeadline = true;
                wire.Adapter.Dispose();
                throw new InvalidClientUpdateException(wire.ClientId, $"missed the round deadline (simulated {timing.Seconds:0.#} s > round_deadline_s {deadline:0.#} s)");
            }
            return exchange.Admit(wire);
        }
        var result = await inner.ExchangeAsync(exchange with { Tasks = delivered, Admit = AdmitTimed }, ct).ConfigureAwait(false);
        var returned = timings.Where(t => network.DeadlineSeconds is not { } d || t.Seconds <= d);
        var seconds = network.RoundSeconds(returned, dropped.Count > 0 || missedDeadline);
        // A retried attempt does not undo the time the server already waited in the earlier ones.
        if (exchange.Attempt > 1 && _earlierAttempts.Round == exchange.Round) seconds += _earlierAttempts.Seconds;
        _earlierAttempts = (exchange.Round, seconds);
        return new ExchangeResult(result.Replies, [.. dropped.Concat(result.Dropped).OrderBy(d => d.ClientId, StringComparer.Ordinal)])
        {
            Timings = [.. timings.OrderBy(t => t.ClientId, StringComparer.Ordinal)],
            Metrics = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                [MetricNames.SimulatedSeconds] = seconds,
                [MetricNames.RealTrainSeconds] = realSeconds,
            },
        };
    }

    /// <summary>What the client reported under <paramref name="metric"/> when it is a positive finite number, else 0.</summary>
    private static double Reported(ClientUpdate wire, string metric) =>
        wire.Metrics.TryGetValue(metric, out var v) && double.IsFinite(v) && v > 0 ? v : 0;
}
